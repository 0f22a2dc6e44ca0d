import { login, session, takeFragmentToken, token, setToken, clearToken } from './token.js';

const params = new URLSearchParams(location.search);
// next must be a path on this site, never another origin.
const next = (params.get('next') || '/').startsWith('/') && !(params.get('next') || '').startsWith('//')
  ? params.get('next') || '/' : '/';
const room = next.match(/^\/join\/([A-Za-z0-9_-]{1,64})/)?.[1];
if (room) {
  const el = document.getElementById('for-room');
  el.textContent = `to join ${room}`;
  el.hidden = false;
}
// From the start page (nothing else to go to): a guest may be reading.
document.getElementById('guest-note').hidden = next !== '/';
const error = document.getElementById('error');
if (params.get('error') === 'invalid_credentials') {
  error.textContent = 'Wrong username or password.';
  error.hidden = false;
}

// The identity provider's button goes on to where the person was going.
const idp = document.getElementById('idp-login');
if (idp) idp.href = '/login/oidc?' + new URLSearchParams({ next });

// Back from the identity provider: the gateway set the host cookie and put
// the token in the fragment. As after a password login, the tab keeps the
// token only where the browser would not take the cookie.
if (location.hash.includes('peer_token=')) {
  takeFragmentToken();
  const t = token();
  clearToken();
  session().then((s) => {
    if (!s) setToken(t);
    location.replace(next);
  });
}

document.getElementById('login')?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const msg = await login(f.get('username'), f.get('password'));
  if (msg) {
    error.textContent = msg;
    error.hidden = false;
    return;
  }
  location.assign(next);
});
