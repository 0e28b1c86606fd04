/**
 * Local mode's console sign-in, end to end on a started system: the printed one-time URL, the token exchange,
 * the front door's authorizer in front of the real console handler, and a viewer's rollback refused with 403 and
 * recorded in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';

describe('local console login on a running system', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const lines: string[] = [];

  beforeAll(async () => {
    data = await tempDataDir('lockstep-console-login-');
    system = await startLocalSystem({
      dataDir: data.dir,
      javaPreference: 'dynalite',
      sdkPublishing: false,
      firstPush: false,
      progress: false,
      write: (line) => lines.push(line),
      consoleUser: 'vic@example.com',
      consoleGroups: 'viewers',
    });
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
    await data?.cleanup();
  });

  const base = () => system.connection.http;
  const signIn = async (token: string) => {
    const response = await fetch(`${base()}/console/auth/local-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  it('prints a console URL with a one-time token and who it signs in', () => {
    const banner = lines.join('\n');
    const url = new URL(/console +(\S+)/.exec(banner)![1]!);
    expect(url.pathname).toBe('/console');
    expect(url.searchParams.get('login')).toBe(system.consoleLogin.loginToken);
    expect(banner).toContain('one-time login as vic@example.com: viewers');
  });

  it('serves the page and its login settings without a token, and no data without one', async () => {
    expect((await fetch(`${base()}/console/config.json`)).status).toBe(200);
    expect(await (await fetch(`${base()}/console/config.json`)).json()).toEqual({ mode: 'local' });
    const data = await fetch(`${base()}/console/api/pipeline`);
    expect(data.status).toBe(401);
  });

  it('signs the printed token in once, and the handler sees the configured user and groups', async () => {
    const bearer = await signIn(system.consoleLogin.loginToken);
    const me = await fetch(`${base()}/console/api/me`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: 'vic@example.com', groups: ['viewers'] });
    const again = await fetch(`${base()}/console/auth/local-token`, {
      method: 'POST',
      body: JSON.stringify({ token: system.consoleLogin.loginToken }),
    });
    expect(again.status).toBe(401);
  });

  it("refuses a viewer's rollback with 403 and records it in the audit log", async () => {
    const bearer = await signIn(system.consoleLogin.issueLoginToken({ user: 'vic@example.com', groups: ['viewers'] }));
    const headers = { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' };
    const refused = await fetch(`${base()}/console/api/environments/prod-na/rollback`, {
      method: 'POST',
      headers,
      body: JSON.stringify({}),
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(
      /vic@example\.com \(groups viewers\) may not rollback: ask an administrator to add you to operators/,
    );
    const audit = await fetch(`${base()}/console/api/audit?action=console-request-denied`, { headers });
    expect(audit.status).toBe(200);
    const body = JSON.stringify(await audit.json());
    expect(body).toContain('vic@example.com (viewers) was refused rollback from 127.0.0.1');
    expect(body).toContain('POST /console/api/environments/prod-na/rollback');
  });
});
