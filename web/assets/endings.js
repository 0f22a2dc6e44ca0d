// What the page says when a call ends for good, by the server's word: a
// bye's reason, or the close code the gateway cuts a call with.

// farewell returns the page's state, title and text for a final bye, and
// whether trying again may help (a locked or full room may open: ask the
// host, then try again).
export function farewell(m) {
  const reasons = {
    denied: ['denied', 'Your request to join was turned down', m.message],
    refused: ['denied', 'You cannot join this room', m.message],
    ejected: ['ejected', 'Your time in this room is up', m.message],
    kicked: ['ejected', 'You were removed from the room', m.message],
    ended: ['ended', 'The meeting has ended', m.message],
  };
  const [state, title, said] = reasons[m.reason] || ['error', 'Disconnected', m.message || ''];
  const text = sentence(said);
  const retry = m.reason === 'refused' && ['room_locked', 'room_full', 'lobby_full'].includes(m.code);
  return [state, title, retry ? `${text} Ask the host to let you in, then try again.` : text || '', retry];
}

// The gateway's word when it cuts a call itself, in the close frame's code
// (docs/signalling.md, "Cut by the gateway"): none of these comes back by
// trying again.
export const cuts = {
  4001: ['denied', 'Your access was withdrawn', 'The link or login you joined with no longer works. Ask the host for a new link.'],
  4002: ['ended', 'The meeting has ended', 'The room was closed.'],
  4003: ['login', 'Your login has ended', 'You logged out (perhaps in another tab), or the login ran out. Log in again to go on.'],
  4004: ['ejected', 'You were removed from the room', 'You may not join it again.'],
  4005: ['ejected', 'Your time in this room is up', ''],
};

// droppedLink says why the page dropped the token its link or login
// brought, for a refusal at the door (invalid_token, session_ended,
// wrong_address).
export function droppedLink(check) {
  const msg = check.message || 'invalid token';
  if (check.code !== 'invalid_token') return `That link or login no longer works (${msg}).`;
  if (/expired/.test(msg)) return 'This link no longer works: its invitation has expired. Ask the host for a new one.';
  return `This link no longer works: it is not a valid invitation (${msg}). Ask the host for a new one.`;
}

// Server messages are lower-case phrases; a page shows sentences. The
// page's own words are written so (and keep a room's name as typed).
export const sentence = (text) => (text ? text[0].toUpperCase() + text.slice(1) : '');
