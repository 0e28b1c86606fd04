// The console's sign-in, in the browser. No framework, no build step: an ES module the pages import, written as
// small pure functions (tested under Node) and one class that holds the browser's pieces (fetch, sessionStorage,
// location), passed in so tests can hand their own.
//
// On AWS: Cognito's managed login, authorization code flow with PKCE (S256) for a public client: no secret exists.
// The ID token is the bearer, because it carries `email` (approvers are named by email) and `cognito:groups`; the
// HTTP API's JWT authorizer accepts it for this client (audience = client id). Locally: `npm start` prints
// `/console?login=<one-time token>`, traded once at the front door for a bearer token.
//
// Either way the token travels only in the `Authorization` header, never in a cookie, so another site cannot make
// the browser send it (no CSRF). It lives in memory and in sessionStorage (this tab only, gone when it closes).
// A 401 keeps the request that was refused and the page it came from, sends the user to login, and hands both back
// after the login so the action can be resumed.

/** sessionStorage keys. */
export const SESSION_KEY = 'lockstep.console.session';
export const PKCE_KEY = 'lockstep.console.pkce';
export const PENDING_KEY = 'lockstep.console.pending';

/** Where local mode trades the one-time token (local/http/console-login.ts). */
export const LOCAL_TOKEN_PATH = '/console/auth/local-token';
export const CONFIG_PATH = '/console/config.json';
/** Renew a little before the token expires, so a request in flight does not meet an expired token. */
const EXPIRY_MARGIN_MS = 30_000;

/** base64url of bytes, as RFC 7636 wants for the verifier and the challenge. */
export function base64Url(bytes) {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A random string of 32 bytes (43 characters): a PKCE verifier or an OAuth `state`. */
export function randomToken(cryptoImpl = globalThis.crypto) {
  return base64Url(cryptoImpl.getRandomValues(new Uint8Array(32)));
}

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier, cryptoImpl = globalThis.crypto) {
  const digest = await cryptoImpl.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

/** Reads `/console/config.json`: `{ mode: 'local' }` or `{ mode: 'cognito', domain, clientId, redirectUri, scopes? }`. */
export function parseConfig(value) {
  if (value && value.mode === 'local') return { mode: 'local' };
  if (value && value.mode === 'cognito') {
    for (const field of ['domain', 'clientId', 'redirectUri']) {
      if (typeof value[field] !== 'string' || value[field] === '')
        throw new Error(`The console's login settings lack "${field}": redeploy the stack`);
    }
    const scopes = Array.isArray(value.scopes) && value.scopes.length > 0 ? value.scopes : ['openid', 'email'];
    return { ...value, domain: value.domain.replace(/\/+$/, ''), scopes };
  }
  throw new Error('The console\'s login settings say neither "cognito" nor "local"');
}

/** Cognito's authorize URL for a code request with a PKCE challenge. */
export function authorizeUrl(config, { state, challenge }) {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: config.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `${config.domain}/oauth2/authorize?${query}`;
}

/** The form Cognito's token endpoint wants for a code: with the verifier, and without a secret. */
export function tokenRequestBody(config, { code, verifier }) {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: config.clientId,
    code,
    redirect_uri: config.redirectUri,
    code_verifier: verifier,
  }).toString();
}

/** What a URL brings back from login: a code, an error, a local one-time token, or nothing. */
export function parseReturn(href) {
  const url = new URL(href);
  const query = url.searchParams;
  if (query.has('error'))
    return { kind: 'error', error: query.get('error'), description: query.get('error_description') ?? '' };
  if (query.has('code')) return { kind: 'code', code: query.get('code'), state: query.get('state') ?? '' };
  if (query.has('login')) return { kind: 'local', token: query.get('login') };
  return { kind: 'none' };
}

/** The URL without what login added (`code`, `state`, `login`, errors), so neither stays in history. */
export function cleanUrl(href) {
  const url = new URL(href);
  for (const name of ['code', 'state', 'login', 'error', 'error_description']) url.searchParams.delete(name);
  return url.pathname + url.search + url.hash;
}

/** The payload of a JWT, unverified: only for the expiry and the name shown; the server verifies the token. */
export function jwtPayload(token) {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const padded = part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '=');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))));
  } catch {
    return undefined;
  }
}

/**
 * The session from a token response: Cognito's (`id_token`, `expires_in`) or local mode's (`access_token`,
 * `expires_in`, `user`, `groups`).
 */
export function sessionFromTokenResponse(body, now) {
  const token = body.id_token ?? body.access_token;
  if (typeof token !== 'string' || token === '') throw new Error('The login answered without a token: log in again');
  const claims = jwtPayload(token);
  const expiresAt = typeof claims?.exp === 'number' ? claims.exp * 1000 : now + Number(body.expires_in ?? 3600) * 1000;
  const user = body.user ?? claims?.email ?? claims?.['cognito:username'] ?? '';
  const groups = body.groups ?? claims?.['cognito:groups'] ?? [];
  return { token, expiresAt, user, groups };
}

/** Whether a session is missing or (nearly) expired at `now`. */
export function isExpired(session, now) {
  return !session || session.expiresAt - EXPIRY_MARGIN_MS <= now;
}

/** What a refused request needs to be sent again: method, URL and a text body (actions post JSON). */
export function pendingAction(url, init = {}, page) {
  const body = typeof init.body === 'string' ? init.body : undefined;
  const contentType = Object.entries(init.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  return {
    method: (init.method ?? 'GET').toUpperCase(),
    url: String(url),
    ...(body !== undefined ? { body } : {}),
    ...(contentType ? { contentType } : {}),
    page,
  };
}

/** Raised when the user must sign in; `message` says how. The pending action is kept meanwhile. */
export class LoginRequiredError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LoginRequiredError';
  }
}

const readJson = (storage, key) => {
  try {
    const text = storage.getItem(key);
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The browser side, over injected pieces: `{ fetch, storage, location, history, crypto, now }` (the page passes
 * `window.fetch.bind(window)`, `sessionStorage`, `location`, `history`, `crypto`, `Date.now`).
 *
 * @example
 * const auth = new ConsoleAuth(browserPieces());
 * const { pending } = await auth.start();
 * if (pending) await auth.replay(pending);
 * const response = await auth.fetch('/console/api/pipeline');
 */
export class ConsoleAuth {
  constructor({ fetch, storage, location, history, crypto = globalThis.crypto, now = Date.now }) {
    this.fetchImpl = fetch;
    this.storage = storage;
    this.location = location;
    this.history = history;
    this.crypto = crypto;
    this.now = now;
    this.config = undefined;
    this.session = readJson(storage, SESSION_KEY);
  }

  /** The signed-in user (`{ user, groups }`), or undefined. */
  get user() {
    return isExpired(this.session, this.now()) ? undefined : { user: this.session.user, groups: this.session.groups };
  }

  /**
   * Reads the login settings and finishes a login the URL brings back (a code, or local mode's token). Returns
   * the action a 401 interrupted, if any (to show and resume), once.
   */
  async start() {
    const response = await this.fetchImpl(CONFIG_PATH, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`The console's login settings did not load (HTTP ${response.status})`);
    this.config = parseConfig(await response.json());
    const back = parseReturn(this.location.href);
    if (back.kind === 'error') {
      this.history.replaceState(null, '', cleanUrl(this.location.href));
      throw new LoginRequiredError(`Login failed: ${back.description || back.error}. Log in again.`);
    }
    if (back.kind === 'code') await this.finishCognitoLogin(back);
    if (back.kind === 'local') await this.finishLocalLogin(back.token);
    if (back.kind !== 'none') this.history.replaceState(null, '', cleanUrl(this.location.href));
    return { signedIn: this.user !== undefined, pending: this.user ? this.takePending() : undefined };
  }

  /**
   * Sends the user to login, keeping `pending` (the action a 401 stopped) for after it. On AWS this leaves the
   * page for Cognito's managed login; locally there is no login page: the user opens the URL `npm start` printed.
   */
  async login(pending) {
    const config = this.config ?? parseConfig(await (await this.fetchImpl(CONFIG_PATH)).json());
    this.config = config;
    const page = this.location.href;
    // A poll (GET) that meets the same expiry must not replace the action the user was on.
    const kept = readJson(this.storage, PENDING_KEY);
    if (pending && !(pending.method === 'GET' && kept && kept.method !== 'GET'))
      this.storage.setItem(PENDING_KEY, JSON.stringify({ ...pending, page: pending.page ?? page }));
    this.clearSession();
    if (config.mode === 'local') {
      throw new LoginRequiredError(
        'Your local session ended: open the console URL that npm start printed last (each link signs in once), or restart npm start for a new one.',
      );
    }
    // Several requests may meet the expiry at once: one login is enough.
    if (this.redirecting) throw new LoginRequiredError('Signing in…');
    this.redirecting = true;
    const verifier = randomToken(this.crypto);
    const state = randomToken(this.crypto);
    this.storage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, page }));
    this.location.assign(authorizeUrl(config, { state, challenge: await codeChallenge(verifier, this.crypto) }));
    throw new LoginRequiredError('Signing in…');
  }

  /**
   * `fetch` with the bearer token. A missing or expired session, or a 401 from the server, keeps the request and
   * sends the user to login (throws LoginRequiredError); any other answer, 403 included, is returned.
   */
  async fetch(url, init = {}) {
    const pending = pendingAction(url, init, this.location.href);
    if (isExpired(this.session, this.now())) return this.login(pending);
    const headers = { ...(init.headers ?? {}), authorization: `Bearer ${this.session.token}` };
    const response = await this.fetchImpl(url, { ...init, headers, credentials: 'omit' });
    if (response.status === 401) return this.login(pending);
    return response;
  }

  /** Sends a kept action again with the new session, e.g. the rollback that met an expired token. */
  replay(pending) {
    return this.fetch(pending.url, {
      method: pending.method,
      ...(pending.body !== undefined ? { body: pending.body } : {}),
      ...(pending.contentType ? { headers: { 'content-type': pending.contentType } } : {}),
    });
  }

  /** Forgets the session; on AWS also ends the managed login session. */
  logout() {
    this.clearSession();
    if (this.config?.mode === 'cognito') {
      const query = new URLSearchParams({ client_id: this.config.clientId, logout_uri: this.config.redirectUri });
      this.location.assign(`${this.config.domain}/logout?${query}`);
    }
  }

  takePending() {
    const pending = readJson(this.storage, PENDING_KEY);
    this.storage.removeItem(PENDING_KEY);
    return pending;
  }

  clearSession() {
    this.session = undefined;
    this.storage.removeItem(SESSION_KEY);
  }

  saveSession(session) {
    this.session = session;
    this.storage.setItem(SESSION_KEY, JSON.stringify(session));
  }

  async finishCognitoLogin({ code, state }) {
    const started = readJson(this.storage, PKCE_KEY);
    this.storage.removeItem(PKCE_KEY);
    // A code this tab did not ask for (another site's login link) is refused: the state would not match.
    if (!started || started.state !== state)
      throw new LoginRequiredError('This login did not start in this tab: log in again from the console.');
    const response = await this.fetchImpl(`${this.config.domain}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: tokenRequestBody(this.config, { code, verifier: started.verifier }),
      credentials: 'omit',
    });
    if (!response.ok) throw new LoginRequiredError(`Login failed (HTTP ${response.status}): log in again.`);
    this.saveSession(sessionFromTokenResponse(await response.json(), this.now()));
    this.restorePage(started.page);
  }

  async finishLocalLogin(token) {
    const response = await this.fetchImpl(LOCAL_TOKEN_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
      credentials: 'omit',
    });
    if (!response.ok) {
      // An old link (used, or from an earlier run) while this tab still has a live session: keep the session.
      if (this.user) return;
      const { message } = await response.json().catch(() => ({}));
      throw new LoginRequiredError(message ?? 'This login link does not work: open the one npm start printed last.');
    }
    this.saveSession(sessionFromTokenResponse(await response.json(), this.now()));
  }

  /** Back on the page the user was on before login (same origin only), instead of the bare callback URL. */
  restorePage(page) {
    if (!page) return;
    const target = new URL(page, this.location.href);
    if (target.origin !== new URL(this.location.href).origin) return;
    this.history.replaceState(null, '', cleanUrl(target.href));
  }
}

let shared;
/** The page's one ConsoleAuth. */
function sharedAuth() {
  shared ??= new ConsoleAuth(browserPieces());
  return shared;
}

function showSignIn(message) {
  const main = document.getElementById('main');
  if (main) main.textContent = message;
}

/**
 * Once at start: finishes a login the URL brings back, resumes the action a 401 interrupted (a state-changing one;
 * the page reloads its data anyway), and resolves to the caller's identity as the server sees it. Without a
 * session it sends the user to login and resolves to null (locally: says which URL to open).
 */
export async function ensureSignedIn(auth = sharedAuth()) {
  try {
    const { signedIn, pending } = await auth.start();
    if (!signedIn) return await auth.login();
    let resumed;
    if (pending && pending.method !== 'GET') {
      const response = await auth.replay(pending);
      const answer = await response.json().catch(() => ({}));
      resumed = { method: pending.method, url: pending.url, status: response.status, message: answer.message };
      const notice = globalThis.document?.getElementById('notice');
      if (notice) {
        notice.textContent = response.ok
          ? `Resumed after login: ${pending.method} ${pending.url}`
          : `Resumed after login, refused (${response.status}): ${answer.message ?? pending.url}`;
        notice.hidden = false;
      }
    }
    const me = await auth.fetch('/console/api/me');
    const identity = me.ok ? await me.json() : auth.user;
    return resumed ? { ...identity, resumed } : identity;
  } catch (error) {
    if (!(error instanceof LoginRequiredError)) throw error;
    if (globalThis.document) showSignIn(error.message);
    return null;
  }
}

/**
 * `fetch` for /console/api/ with the bearer token. When the session has ended it sends the user to login (the
 * request is kept and resumed afterwards) and never settles, as the page is leaving or shows how to sign in.
 */
export async function apiFetch(path, init = {}, auth = sharedAuth()) {
  try {
    return await auth.fetch(path, init);
  } catch (error) {
    if (!(error instanceof LoginRequiredError)) throw error;
    if (globalThis.document) showSignIn(error.message);
    return new Promise(() => undefined);
  }
}

/** The real browser pieces. */
export function browserPieces() {
  return {
    fetch: window.fetch.bind(window),
    storage: window.sessionStorage,
    location: window.location,
    history: window.history,
    crypto: window.crypto,
    now: Date.now,
  };
}
