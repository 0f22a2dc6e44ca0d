// The gate: a page-sized message that stands instead of the call (waiting,
// refused, ended, a login), and the page's state (body's data-state, which
// SPEC.md names).

import { Preview } from './waiting.js';

const body = document.body;
const $ = (id) => document.getElementById(id);
export const preview = new Preview(); // our camera, while we wait

export function setState(state, status) {
  body.dataset.state = state;
  if (status) $('status').textContent = status;
}

// gate shows a page-sized message instead of the call; cancel: one
// waits there, with Cancel and our camera.
export function gate(state, title, text, { form = false, home = false, retry = false, rejoin = false, cancel = false } = {}) {
  setState(state, title);
  $('gate').hidden = false;
  $('gate-title').textContent = title;
  $('gate-text').textContent = text || '';
  // A login offers what the site has: the identity provider (back to this
  // room after it), the password form, or both.
  $('credentials').hidden = !form || body.dataset.passwordLogin === 'false';
  const idp = $('gate-idp');
  if (idp) [idp.hidden, idp.href] = [!form, '/login/oidc?' + new URLSearchParams({ next: location.pathname + location.search })];
  $('gate-home').hidden = !home;
  $('gate-retry').hidden = !retry;
  $('gate-rejoin').hidden = !rejoin;
  $('gate-cancel').hidden = !cancel;
  $('host-login').hidden = true;
  if (cancel) preview.show();
  else preview.stop();
}
