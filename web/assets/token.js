// The peer token lives in sessionStorage.peer_token. A join link's token
// arrives in the URL fragment (#peer_token=…); takeFragmentToken moves it
// to storage and rewrites the address so that no token stays in the address
// bar or in history.
export function takeFragmentToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const t = hash.get('peer_token');
  if (t) {
    sessionStorage.setItem('peer_token', t);
    history.replaceState(null, '', location.pathname + location.search);
  }
}

export const token = () => sessionStorage.getItem('peer_token') || '';
export const setToken = (t) => sessionStorage.setItem('peer_token', t);
export const clearToken = () => sessionStorage.removeItem('peer_token');

// An owner pass (docs/gateway.md, "Owners of open rooms") is what an open
// site's start page was given for the room it starts: kept in this tab,
// offered when the page connects to that room, never put in a URL.
export const ownerPass = (room) => sessionStorage.getItem(`owner_pass.${room}`) || '';
export async function askOwnerPass(room) {
  try {
    const res = await fetch('/owner-pass', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ room }),
    });
    if (res.ok) sessionStorage.setItem(`owner_pass.${room}`, (await res.json()).pass);
  } catch {
    // Without one, the first in still owns the room.
  }
}

// login posts credentials and keeps the token; it returns an error message or ''.
export async function login(username, password) {
  const res = await fetch('/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 429) return `Too many attempts. Try again in ${res.headers.get('Retry-After') || 'a few'} seconds.`;
    return body.message || `Login failed (${res.status}).`;
  }
  // The gateway also set the host cookie, which every tab of this browser
  // sends (docs/browser.md, "Logged in across tabs"). Where the browser
  // would not take it (plain HTTP on an address other than localhost), the
  // token stays in this tab instead.
  if (!(await session())) setToken(body.token);
  else clearToken();
  return '';
}

// session asks the gateway who is logged in here, by the host cookie or the
// tab's token: {user, expiresAt}, or null.
export async function session() {
  const t = token();
  const headers = t && t.split('.').length === 3 ? { Authorization: `Bearer ${t}` } : {};
  try {
    const res = await fetch('/session', { headers, cache: 'no-store' });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

// logout ends the host's login, whether the tab or the cookie holds it. A
// login through the identity provider then ends there too: the gateway
// names the provider's end of session, which sends the browser back here.
export async function logout() {
  const t = token();
  let endAt = '';
  try {
    const res = await fetch('/logout', { method: 'POST', headers: t ? { Authorization: `Bearer ${t}` } : {} });
    endAt = res.headers.get('Roomgate-End-Session') || '';
  } catch {
    // The session ends at its expiry anyway; the token is gone from the tab.
  }
  clearToken();
  if (/^https?:\/\//.test(endAt)) location.assign(endAt);
}
