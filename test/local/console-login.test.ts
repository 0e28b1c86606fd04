/**
 * Local mode's console sign-in over real HTTP: the one-time login token, the bearer it buys, and the front door's
 * emulation of the JWT authorizer, read back by the same `identityFromEvent`/`authorize` the handler uses on AWS.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { validatePipelineObject } from '../../lambdas/core/config/load';
import { authorize, identityFromEvent } from '../../lambdas/console/auth';
import { ForbiddenError } from '../../lambdas/console/errors';
import { HttpFrontDoor } from '../../local/http/front-door';
import { LocalConsoleLogin, localConsoleUser, registerLocalConsoleLogin } from '../../local/http/console-login';
import { fixtureInput } from '../cdk/fixtures';

describe('local console login through the front door', () => {
  let now = 1_700_000_000_000;
  const door = new HttpFrontDoor({ onHandlerError: () => undefined });
  const login = new LocalConsoleLogin({
    user: 'alice@example.com',
    groups: ['operators', 'approvers'],
    clock: () => now,
    sessionMs: 60_000,
  });
  const seen: APIGatewayProxyEventV2[] = [];
  let base: string;

  /** A console action route as console-web registers it: authorizer on, `authorize()` in the handler. */
  const rollbackRoute = (event: APIGatewayProxyEventV2) => {
    seen.push(event);
    const identity = identityFromEvent(event);
    try {
      authorize(identity, 'rollback');
    } catch (error) {
      if (error instanceof ForbiddenError) return { statusCode: 403, body: JSON.stringify({ message: error.message }) };
      throw error;
    }
    return { statusCode: 200, body: JSON.stringify(identity) };
  };

  beforeAll(async () => {
    registerLocalConsoleLogin(door, login);
    door.registerRoute('POST', '/console/api/environments/{environment}/rollback', rollbackRoute, {
      authorizer: login,
    });
    base = await door.start();
  });

  afterAll(() => door.stop());

  const exchange = (token: string) =>
    fetch(`${base}/console/auth/local-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
  const rollback = (headers: Record<string, string> = {}) =>
    fetch(`${base}/console/api/environments/prod-na/rollback`, { method: 'POST', headers });

  it('prints a console URL that carries the one-time token', () => {
    expect(login.consoleUrl(base)).toBe(`${base}/console?login=${login.loginToken}`);
    expect(login.loginToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('trades the printed token once for a bearer, and refuses it the second time with what to do', async () => {
    const first = await exchange(login.loginToken);
    expect(first.status).toBe(200);
    const body = (await first.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 60,
      user: 'alice@example.com',
      groups: ['operators', 'approvers'],
    });
    const again = await exchange(login.loginToken);
    expect(again.status).toBe(401);
    expect(((await again.json()) as { message: string }).message).toMatch(/used already.*printed last/);
  });

  it('answers 401 before the handler runs when the bearer is missing, unknown or sent as a cookie', async () => {
    const before = seen.length;
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not-a-token-that-was-ever-issued' },
      { cookie: 'session=whatever' },
      { authorization: 'Basic YWxpY2U6cGFzcw==' },
    ];
    for (const headers of attempts) {
      const response = await rollback(headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ message: 'Unauthorized' });
    }
    expect(seen.length).toBe(before);
  });

  it('hands the handler Cognito-shaped claims, which identityFromEvent reads as on AWS', async () => {
    const token = login.issueLoginToken({ user: 'alice@example.com', groups: ['operators', 'approvers'] });
    const { access_token } = (await (await exchange(token)).json()) as { access_token: string };
    const response = await rollback({ authorization: `Bearer ${access_token}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      user: 'alice@example.com',
      groups: ['operators', 'approvers'],
      sourceIp: '127.0.0.1',
    });
    expect(seen.at(-1)!.requestContext).toMatchObject({
      authorizer: {
        jwt: {
          claims: {
            email: 'alice@example.com',
            'cognito:groups': '[operators approvers]',
            iss: 'lockstep-local',
            token_use: 'id',
          },
          scopes: null,
        },
      },
    });
  });

  it('lets a viewer in but refuses it a rollback with 403', async () => {
    const token = login.issueLoginToken({ user: 'vic@example.com', groups: ['viewers'] });
    const { access_token } = (await (await exchange(token)).json()) as { access_token: string };
    const response = await rollback({ authorization: `Bearer ${access_token}` });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toMatch(
      /^vic@example\.com \(groups viewers\) may not rollback: ask an administrator to add you to operators$/,
    );
  });

  it('ends a session when it expires: the browser is sent back to login', async () => {
    const token = login.issueLoginToken({ user: 'alice@example.com', groups: ['operators'] });
    const { access_token } = (await (await exchange(token)).json()) as { access_token: string };
    expect((await rollback({ authorization: `Bearer ${access_token}` })).status).toBe(200);
    now += 60_001;
    expect((await rollback({ authorization: `Bearer ${access_token}` })).status).toBe(401);
  });

  it('refuses a body that is not a token as an unknown token', async () => {
    const response = await fetch(`${base}/console/auth/local-token`, { method: 'POST', body: 'token=abc' });
    expect(response.status).toBe(401);
  });
});

describe('localConsoleUser (--console-user, --console-groups)', () => {
  const pipeline = validatePipelineObject(fixtureInput, { source: 'test' });

  it("defaults to the pipeline's first approver in all three groups, so approving from the console works", () => {
    expect(localConsoleUser(pipeline)).toEqual({
      user: 'lead@example.com',
      groups: ['viewers', 'operators', 'approvers'],
    });
  });

  it('takes the user and a comma list of groups', () => {
    expect(localConsoleUser(pipeline, 'alice', 'approvers, operators')).toEqual({
      user: 'alice',
      groups: ['operators', 'approvers'],
    });
  });

  it('refuses an unknown group, naming the known ones', () => {
    expect(() => localConsoleUser(pipeline, 'alice', 'operators,admins')).toThrow(
      /--console-groups "operators,admins": unknown admins; give a comma list of viewers, operators, approvers/,
    );
    expect(() => localConsoleUser(pipeline, 'alice', ' , ')).toThrow(/give a comma list/);
    expect(() => localConsoleUser(pipeline, 'al ice')).toThrow(/without spaces/);
  });
});
