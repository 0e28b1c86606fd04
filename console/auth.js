// The console's sign-in, as the pages use it: `ensureSignedIn()` once at start (resolves to the identity, or
// navigates to the login and resolves to null), then `apiFetch()` for every /console/api/ call, which sends the
// bearer token in the Authorization header (never a cookie, so another site cannot forge a request).
//
// This is the local-token form the pages need to run; the full module (Cognito managed login with PKCE, the
// one-time local login token exchange, resuming the pending action after a 401) is console-auth's and replaces it
// with the same two exports.
const KEY = 'lockstep.console.token';

function tokenFromUrl() {
  const params = new URLSearchParams(
    location.hash.includes('token=') ? location.hash.replace(/^#\/?\??/, '') : location.search,
  );
  const token = params.get('token');
  if (!token) return undefined;
  history.replaceState(null, '', `${location.pathname}#/`);
  return token;
}

export async function ensureSignedIn() {
  const token = tokenFromUrl() ?? sessionStorage.getItem(KEY);
  if (!token) {
    document.getElementById('main').textContent = 'Open the console through the link that `npm start` printed.';
    return null;
  }
  sessionStorage.setItem(KEY, token);
  const response = await apiFetch('/console/api/me');
  if (!response.ok) return { user: 'signed in', groups: [] };
  return response.json();
}

export async function apiFetch(path, init = {}) {
  const token = sessionStorage.getItem(KEY);
  return fetch(path, { ...init, headers: { ...init.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
}
