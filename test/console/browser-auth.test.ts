/**
 * `console/auth.js`, the browser's sign-in, run under Node with a fake browser (fetch, sessionStorage, location,
 * history): PKCE against Cognito's managed login, local mode's one-time token, the bearer header, and a 401 that
 * sends the user to login and hands the interrupted action back afterwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  authorizeUrl,
  codeChallenge,
  ConsoleAuth,
  ensureSignedIn,
  LoginRequiredError,
  parseConfig,
  PENDING_KEY,
  PKCE_KEY,
  SESSION_KEY,
  tokenRequestBody,
  type RequestInitLike,
  type ResponseLike,
} from '../../console/auth.js';

const CONSOLE = 'https://api.example.com/console';
const DOMAIN = 'https://shop.auth.eu-west-1.amazoncognito.com';
const COGNITO = {
  mode: 'cognito',
  domain: DOMAIN,
  clientId: 'client123',
  redirectUri: CONSOLE,
  scopes: ['openid', 'email'],
};
const NOW = 1_764_000_000_000;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const idToken = (claims: Record<string, unknown>) => `${b64url({ alg: 'RS256' })}.${b64url(claims)}.signature`;

interface Call {
  url: string;
  init: RequestInitLike;
}

/** A fake browser tab: a server answering by URL, sessionStorage that survives reloads, location and history. */
function browser(config: unknown, answer: (call: Call) => { status: number; body?: unknown }) {
  const calls: Call[] = [];
  const store = new Map<string, string>();
  const assigned: string[] = [];
  const location = {
    href: CONSOLE,
    assign: (url: string) => void assigned.push(url),
  };
  const pieces = () => ({
    fetch: async (url: string, init: RequestInitLike = {}): Promise<ResponseLike> => {
      calls.push({ url, init });
      const { status, body } = url === '/console/config.json' ? { status: 200, body: config } : answer({ url, init });
      return { ok: status < 300, status, json: async () => body };
    },
    storage: {
      getItem: (key: string) => store.get(key) ?? null,
      setItem: (key: string, value: string) => void store.set(key, value),
      removeItem: (key: string) => void store.delete(key),
    },
    location,
    history: {
      replaceState: (_: unknown, __: string, url: string) => (location.href = new URL(url, location.href).href),
    },
    now: () => NOW,
  });
  return { calls, store, assigned, location, tab: () => new ConsoleAuth(pieces()) };
}

describe('PKCE pieces', () => {
  it('computes the S256 challenge as base64url(SHA-256(verifier)), without padding', async () => {
    for (let i = 0; i < 50; i += 1) {
      const verifier = randomBytes(32).toString('base64url');
      expect(await codeChallenge(verifier)).toBe(createHash('sha256').update(verifier).digest('base64url'));
    }
  });

  it('asks Cognito for a code with an S256 challenge, and trades it with the verifier and no secret', () => {
    const config = parseConfig(COGNITO) as Extract<ReturnType<typeof parseConfig>, { mode: 'cognito' }>;
    const url = new URL(authorizeUrl(config, { state: 'st', challenge: 'ch' }));
    expect(url.origin + url.pathname).toBe(`${DOMAIN}/oauth2/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client123',
      redirect_uri: CONSOLE,
      scope: 'openid email',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
    });
    expect(Object.fromEntries(new URLSearchParams(tokenRequestBody(config, { code: 'c', verifier: 'v' })))).toEqual({
      grant_type: 'authorization_code',
      client_id: 'client123',
      code: 'c',
      redirect_uri: CONSOLE,
      code_verifier: 'v',
    });
  });

  it('refuses login settings that lack a field, naming it', () => {
    expect(() => parseConfig({ ...COGNITO, clientId: '' })).toThrow(/lack "clientId"/);
    expect(() => parseConfig({ mode: 'saml' })).toThrow(/neither "cognito" nor "local"/);
  });
});

describe('on AWS: managed login with PKCE', () => {
  const token = idToken({ email: 'olga@example.com', 'cognito:groups': ['operators'], exp: NOW / 1000 + 3600 });

  it('sends an expired user to login and, after it, back to the page with the rollback they were on', async () => {
    const tokenRequests: string[] = [];
    const tab = browser(COGNITO, ({ url, init }) => {
      if (url === `${DOMAIN}/oauth2/token`) {
        tokenRequests.push(init.body!);
        return { status: 200, body: { id_token: token, access_token: 'access', expires_in: 3600 } };
      }
      return init.headers?.authorization === `Bearer ${token}` ? { status: 200, body: { ok: true } } : { status: 401 };
    });
    tab.location.href = `${CONSOLE}#/environments/prod-na`;

    // The page loads with no session; the operator presses "Roll back".
    const page = tab.tab();
    expect(await page.start()).toEqual({ signedIn: false, pending: undefined });
    const rollback = {
      method: 'POST',
      body: '{"toRevision":11}',
      headers: { 'content-type': 'application/json' },
    };
    await expect(page.fetch('/console/api/environments/prod-na/rollback', rollback)).rejects.toThrow(
      LoginRequiredError,
    );
    expect(tab.assigned).toHaveLength(1);
    const authorize = new URL(tab.assigned[0]!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const started = JSON.parse(tab.store.get(PKCE_KEY)!) as { verifier: string; state: string };
    expect(authorize.searchParams.get('state')).toBe(started.state);
    expect(authorize.searchParams.get('code_challenge')).toBe(await codeChallenge(started.verifier));

    // Cognito sends the browser back to the console with a code; the page loads again.
    tab.location.href = `${CONSOLE}?code=abc&state=${started.state}`;
    const back = tab.tab();
    const { signedIn, pending } = await back.start();
    expect(signedIn).toBe(true);
    expect(back.user).toEqual({ user: 'olga@example.com', groups: ['operators'] });
    expect(new URLSearchParams(tokenRequests[0]).get('code_verifier')).toBe(started.verifier);
    expect(tab.location.href).toBe(`${CONSOLE}#/environments/prod-na`);
    expect(tab.store.has(PKCE_KEY)).toBe(false);
    expect(pending).toMatchObject({
      method: 'POST',
      url: '/console/api/environments/prod-na/rollback',
      body: '{"toRevision":11}',
      page: `${CONSOLE}#/environments/prod-na`,
    });
    expect(tab.store.has(PENDING_KEY)).toBe(false);

    // The action goes again with the bearer token in a header and no cookies.
    const response = await back.replay(pending!);
    expect(response.status).toBe(200);
    const sent = tab.calls.at(-1)!;
    expect(sent).toMatchObject({
      url: '/console/api/environments/prod-na/rollback',
      init: {
        method: 'POST',
        body: '{"toRevision":11}',
        credentials: 'omit',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
    });
  });

  it('refuses a code that this tab did not ask for (login CSRF)', async () => {
    const tab = browser(COGNITO, () => ({ status: 200, body: { id_token: token } }));
    tab.location.href = `${CONSOLE}?code=stolen&state=forged`;
    await expect(tab.tab().start()).rejects.toThrow(/did not start in this tab/);
    expect(tab.calls.map((c) => c.url)).toEqual(['/console/config.json']);
  });

  it('goes back to login when the server answers 401 to a session it no longer accepts', async () => {
    const tab = browser(COGNITO, () => ({ status: 401 }));
    tab.store.set(SESSION_KEY, JSON.stringify({ token, expiresAt: NOW + 3_600_000, user: 'olga', groups: [] }));
    const page = tab.tab();
    await page.start();
    await expect(page.fetch('/console/api/pipeline')).rejects.toThrow(LoginRequiredError);
    expect(tab.assigned[0]).toMatch(/^https:\/\/shop\.auth\.eu-west-1\.amazoncognito\.com\/oauth2\/authorize\?/);
    expect(tab.store.has(SESSION_KEY)).toBe(false);
    expect(JSON.parse(tab.store.get(PENDING_KEY)!)).toMatchObject({ method: 'GET', url: '/console/api/pipeline' });
  });

  it('hands a 403 to the page as it is: the user is signed in, just not allowed', async () => {
    const tab = browser(COGNITO, () => ({ status: 403, body: { message: 'may not rollback' } }));
    tab.store.set(SESSION_KEY, JSON.stringify({ token, expiresAt: NOW + 3_600_000, user: 'vic', groups: [] }));
    const page = tab.tab();
    await page.start();
    expect((await page.fetch('/console/api/x', { method: 'POST' })).status).toBe(403);
    expect(tab.assigned).toEqual([]);
  });
});

describe('locally: the one-time token npm start prints', () => {
  it('trades the token for a bearer, cleans the URL, and on a 401 keeps the action and says where to log in', async () => {
    let live = true;
    const tab = browser({ mode: 'local' }, ({ url, init }) => {
      if (url === '/console/auth/local-token') {
        const { token } = JSON.parse(init.body!) as { token: string };
        return token === 'one-time'
          ? {
              status: 200,
              body: {
                access_token: 'bearer-1',
                token_type: 'Bearer',
                expires_in: 43200,
                user: 'alice',
                groups: ['operators'],
              },
            }
          : { status: 401, body: { message: 'This login link was used already' } };
      }
      return live && init.headers?.authorization === 'Bearer bearer-1' ? { status: 200, body: {} } : { status: 401 };
    });
    tab.location.href = 'http://127.0.0.1:4000/console?login=one-time#/pipeline';
    const page = tab.tab();
    expect((await page.start()).signedIn).toBe(true);
    expect(page.user).toEqual({ user: 'alice', groups: ['operators'] });
    expect(tab.location.href).toBe('http://127.0.0.1:4000/console#/pipeline');
    expect((await page.fetch('/console/api/pipeline')).status).toBe(200);

    // npm start restarted: the bearer is gone; the pin the user pressed is kept for the next login.
    live = false;
    await expect(
      page.fetch('/console/api/environments/beta/pin', { method: 'POST', body: '{"revision":3}' }),
    ).rejects.toThrow(/open the console URL that npm start printed last/);
    expect(tab.assigned).toEqual([]);
    expect(JSON.parse(tab.store.get(PENDING_KEY)!)).toMatchObject({
      method: 'POST',
      url: '/console/api/environments/beta/pin',
    });
  });

  it('says why a used link does not work', async () => {
    const tab = browser({ mode: 'local' }, () => ({
      status: 401,
      body: { message: 'This login link was used already' },
    }));
    tab.location.href = 'http://127.0.0.1:4000/console?login=used';
    await expect(tab.tab().start()).rejects.toThrow('This login link was used already');
  });
});

describe('ensureSignedIn, as the pages call it', () => {
  const token = idToken({ email: 'olga@example.com', 'cognito:groups': ['operators'], exp: NOW / 1000 + 3600 });

  it('resumes the rollback an expired session interrupted, once, after the login, and a poll does not replace it', async () => {
    const rollbacks: string[] = [];
    const tab = browser(COGNITO, ({ url, init }) => {
      if (url === `${DOMAIN}/oauth2/token`) return { status: 200, body: { id_token: token } };
      if (init.headers?.authorization !== `Bearer ${token}`) return { status: 401 };
      if (url === '/console/api/me') return { status: 200, body: { user: 'olga@example.com', groups: ['operators'] } };
      rollbacks.push(`${init.method} ${url} ${init.body}`);
      return { status: 200, body: { ok: true } };
    });
    tab.store.set(SESSION_KEY, JSON.stringify({ token: 'old', expiresAt: NOW + 3_600_000, user: 'olga', groups: [] }));
    const page = tab.tab();
    await page.start();
    await expect(
      page.fetch('/console/api/environments/prod-na/rollback', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"toRevision":11}',
      }),
    ).rejects.toThrow(LoginRequiredError);
    // The page's poll meets the same expiry a moment later.
    await expect(page.fetch('/console/api/pipeline')).rejects.toThrow(LoginRequiredError);
    expect(tab.assigned).toHaveLength(1);

    const { state } = JSON.parse(tab.store.get(PKCE_KEY)!) as { state: string };
    tab.location.href = `${CONSOLE}?code=abc&state=${state}`;
    const identity = await ensureSignedIn(tab.tab());
    expect(identity).toEqual({
      user: 'olga@example.com',
      groups: ['operators'],
      resumed: { method: 'POST', url: '/console/api/environments/prod-na/rollback', status: 200 },
    });
    expect(rollbacks).toEqual(['POST /console/api/environments/prod-na/rollback {"toRevision":11}']);
    expect(tab.calls.at(-2)!.init.headers).toMatchObject({ 'content-type': 'application/json' });

    // A reload later resumes nothing again.
    expect(await ensureSignedIn(tab.tab())).toEqual({ user: 'olga@example.com', groups: ['operators'] });
    expect(rollbacks).toHaveLength(1);
  });

  it('resolves to null locally without a login link, after saying which URL to open', async () => {
    const tab = browser({ mode: 'local' }, () => ({ status: 401 }));
    expect(await ensureSignedIn(tab.tab())).toBeNull();
    expect(tab.assigned).toEqual([]);
  });
});
