// The console's sign-in, as the pages use it: `ensureSignedIn()` once at start (resolves to the identity, or
// shows how to sign in and resolves to null), then `apiFetch()` for every /console/api/ call, which sends the
// bearer token in the Authorization header (never a cookie, so another site cannot forge a request).
//
// This is the local form the pages need to run (the one-time `?login=` token of the URL `npm start` prints,
// traded once at /console/auth/local-token); console-auth's full module (Cognito managed login with PKCE,
// resuming the pending action after a 401) replaces it with the same two exports.
const KEY = 'lockstep.console.session';

function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  } catch {
    return null;
  }
}

export async function ensureSignedIn() {
  const params = new URLSearchParams(location.search);
  const login = params.get('login');
  if (login) {
    history.replaceState(null, '', `${location.pathname}${location.hash}`);
    const response = await fetch('/console/auth/local-token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: login }),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok)
      sessionStorage.setItem(
        KEY,
        JSON.stringify({ token: answer.access_token, user: answer.user, groups: answer.groups }),
      );
    else document.getElementById('main').textContent = answer.message ?? 'The login link did not work.';
  }
  const current = session();
  if (!current) {
    if (!login)
      document.getElementById('main').textContent = 'Open the console through the link that npm start printed.';
    return null;
  }
  return { user: current.user, groups: current.groups };
}

export async function apiFetch(path, init = {}) {
  const token = session()?.token;
  return fetch(path, { ...init, headers: { ...init.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
}
