import { login } from './token.js';

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
document.getElementById('login').addEventListener('submit', async (e) => {
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
