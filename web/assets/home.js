import { session, askOwnerPass } from './token.js';
import { devicesAllowed, help } from './prejoin.js';

const body = document.body;
// With host_protected or user_auth, starting a meeting is for logged-in
// hosts: anyone else goes to the login page (SPEC), which tells a guest to
// use their host's link.
if (body.dataset.hostProtected === 'true' || body.dataset.userAuth === 'true') {
  session().then((s) => {
    if (!s) location.replace('/login?next=' + encodeURIComponent('/'));
    else document.getElementById('start').hidden = false;
  });
}
// Opened by a name or address that is not secure (a LAN address on plain
// HTTP): say so before anyone wonders where their camera went.
if (!devicesAllowed()) {
  const p = document.getElementById('insecure');
  p.textContent = help.insecure;
  p.hidden = false;
}
const name = document.getElementById('name');
name.value = localStorage.getItem('display_name') || '';
document.getElementById('start').addEventListener('submit', async (e) => {
  e.preventDefault();
  const room = document.getElementById('room').value.trim();
  // On an open site whoever starts a room runs it: the pass keeps it ours
  // if someone else gets there first.
  if (body.dataset.hostProtected !== 'true' && body.dataset.userAuth !== 'true') await askOwnerPass(room);
  localStorage.setItem('display_name', name.value.trim());
  const q = name.value.trim() ? '?' + new URLSearchParams({ name: name.value.trim() }) : '';
  location.assign(`/join/${encodeURIComponent(room)}${q}`);
});
