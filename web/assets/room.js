import { Signal } from './signal.js';
import { Tiles, initials } from './tiles.js';
import { prejoin, constraints, devicesAllowed, playOnSpeaker } from './prejoin.js';
import { takeFragmentToken, token, login, setToken, clearToken, session, logout } from './token.js';

takeFragmentToken();

const body = document.body;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const flag = (k, dflt) => (params.has(k) ? params.get(k) === '1' : dflt);
const opts = {
  audio: flag('audio', true), video: flag('video', true), screen: flag('screen', false),
  notify: flag('notify', true), hide: flag('hide', false),
};
const room = body.dataset.room;
let name = (params.get('name') || localStorage.getItem('display_name') || '').slice(0, 64);
const peers = new Map(); // id → PeerInfo
const tiles = new Tiles({ people: peers, view: (views) => !!signal && (signal.view(views), true) });
let signal = null;
let local = null;       // camera and microphone
// kind → the transceiver the microphone or camera goes out on. Turned off,
// it sends nothing (its track is replaced by none) and stays, and the room
// hears so through a state message; turned on again, it sends the track
// again: no renegotiation, no new section per toggle.
let transceivers = {};
let senders = {};       // kind → RTCRtpSender
let screen = null;      // {stream, senders}
let self = null;        // our PeerInfo
let admin = false;      // host or admin: may let people in, remove, lock, end
let locked = false;
let waiting = new Map(); // lobby: id → name, as the server last told us
let retry = null;
let speaking = ''; // the peer the server last said is speaking
// Why the token this tab held was dropped, shown beside whatever the page
// asks next: a dead link must not stay in the tab and refuse every room after.
let droppedToken = '';
// Coming back after a lost connection (docs/signalling.md, "Coming back").
let attempts = 0;       // tries since the connection was lost
let giveUpAt = 0;       // when to stop trying; 0: connected
let lastPass = null;    // the rejoin pass of the connection that was lost
let rejoining = false;  // the connection being made replaces a lost one

function setState(state, status) {
  body.dataset.state = state;
  if (status) $('status').textContent = status;
}

// gate shows a page-sized message instead of the call.
function gate(state, title, text, { form = false, home = false, retry = false } = {}) {
  setState(state, title);
  $('gate').hidden = false;
  $('gate-title').textContent = title;
  // Server messages are lower-case phrases; a page shows sentences.
  $('gate-text').textContent = text ? text[0].toUpperCase() + text.slice(1) : '';
  $('credentials').hidden = !form;
  $('gate-home').hidden = !home;
  $('gate-retry').hidden = !retry;
  $('host-login').hidden = true;
}

function notice(text) {
  if (!opts.notify) return;
  const div = document.createElement('div');
  div.textContent = text;
  $('notices').prepend(div);
  setTimeout(() => div.remove(), 15000);
}

function renderParticipants() {
  const ul = $('participants');
  ul.replaceChildren();
  const all = self ? [[self.id, self], ...peers] : [...peers];
  for (const [id, p] of all) {
    const li = document.createElement('li');
    li.dataset.peer = id;
    const label = document.createElement('span');
    label.textContent = id === self?.id ? `${p.name || 'You'} (you)` : p.name || 'Guest';
    if (p.hand && id !== self?.id) label.textContent = `✋ ${label.textContent}`;
    const role = document.createElement('span');
    role.className = 'role';
    role.textContent = p.role;
    li.append(label, role);
    if (admin && id !== self?.id) {
      if (!p.muted) li.append(button('Mute', 'mute', `Mute ${p.name || 'this guest'}`, () => signal?.mute(id)));
      li.append(button('Remove', 'remove', `Remove ${p.name || 'this guest'} from the room`, () => signal?.kick(id)));
    }
    ul.append(li);
  }
  $('count').textContent = `(${all.length})`;
  markSpeaker();
}

function button(text, cls, label, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onclick);
  return b;
}

// renderLobby shows an admin who waits to be let in.
function renderLobby(list) {
  const before = waiting;
  waiting = new Map(list.map((p) => [p.id, p.name]));
  for (const [id, n] of waiting) if (!before.has(id)) notice(`${n || 'Someone'} is waiting to join`);
  const ul = $('lobby');
  ul.replaceChildren();
  for (const [id, n] of waiting) {
    const li = document.createElement('li');
    li.dataset.peer = id;
    const label = document.createElement('span');
    label.textContent = n || 'Guest';
    const who = n || 'this guest';
    li.append(label,
      button('Admit', 'admit', `Let ${who} in`, () => signal?.admit(id)),
      button('Deny', 'deny', `Turn ${who} away`, () => signal?.deny(id)));
    ul.append(li);
  }
  $('lobby-count').textContent = `(${waiting.size})`;
  $('lobby-panel').hidden = !admin || waiting.size === 0;
}

// markSpeaker rings the speaker's tile and marks their list entry.
function markSpeaker() {
  tiles.markSpeaker(speaking);
  document.querySelectorAll('#participants li[data-peer]').forEach((el) => {
    el.classList.toggle('speaking', el.dataset.peer === speaking);
  });
}

function renderLock() {
  $('lock').setAttribute('aria-pressed', String(locked));
  $('lock').textContent = locked ? 'Unlock room' : 'Lock room';
}

async function start() {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) {
    return gate('error', 'No such room', 'Room names are 1 to 64 letters, digits, - or _.', { home: true });
  }
  signal = new Signal({ room, name, token: token(), signalPath: body.dataset.signalPath });
  signal.forceRelay = params.get('relay') === '1';
  let check;
  try {
    check = await signal.check();
  } catch (err) {
    return gate('error', 'Cannot reach the server', 'Check your connection, then try again.', { retry: true });
  }
  if (!check.ok) return refused(check);
  if (check.role === 'lobby') {
    // Nothing of the room, not even our camera, until someone lets us in.
    gate('lobby', 'Waiting to be let in', `${room} is private. Someone in the meeting will let you in; keep this page open.`);
    return connect();
  }
  $('gate').hidden = true;
  await getReady();
  connect();
}

// getReady shows the pre-join screen, once per page; a link with
// prejoin=0 skips it and takes the devices the link asks for. Coming in
// again on this page (after a login), it takes the devices again if the
// call before let them go.
let ready = false;
async function getReady() {
  if (ready || params.get('prejoin') === '0') {
    if (!local?.getTracks().some((t) => t.readyState === 'live')) await startMedia();
    return;
  }
  ready = true;
  setState('prejoin', 'Ready to join?');
  const chosen = await prejoin({ name });
  name = chosen.name;
  if (name) localStorage.setItem('display_name', name);
  signal.name = name;
  opts.audio = chosen.audio;
  opts.video = chosen.video;
  local = chosen.stream;
  $('self').srcObject = local;
  if (opts.hide) $('self-tile').classList.add('hidden');
}

function refused(check, { final = false } = {}) {
  if (['invalid_token', 'session_ended', 'wrong_address'].includes(check.code) && token()) {
    clearToken();
    droppedToken = `That link or login no longer works (${check.message || 'invalid token'}).`;
    // On arrival the room may still be open to someone without one.
    if (!final) return start();
    return gate('denied', 'You cannot join this room', droppedToken, { home: true });
  }
  // Coming back to a room that is gone: its meeting has ended.
  if (check.code === 'no_such_room' && final) return gate('ended', 'The meeting has ended', 'The room was closed.', { home: true });
  switch (check.code) {
    case 'host_absent':
      gate('waiting-for-host', 'Waiting for the host', 'The meeting starts when the host joins. This page will let you in then.');
      $('host-login').hidden = false;
      retry = setTimeout(start, 3000);
      return;
    case 'credentials_required':
    case 'session_ended':
      if (check.code === 'session_ended') clearToken();
      gate('login', 'Log in to join', 'This room needs an account or an invitation link.', { form: true });
      if (droppedToken) {
        $('gate-error').textContent = droppedToken;
        $('gate-error').hidden = false;
      }
      return;
    default: {
      // A refusal that may not hold for long (a full or locked room, too
      // many at the door, the server busy) offers to try again.
      const passing = check.status === 429 || check.status >= 500 || ['room_full', 'room_locked', 'lobby_full'].includes(check.code);
      gate('denied', 'You cannot join this room',
        [droppedToken, check.message || `The server said no (${check.status}).`].filter(Boolean).join(' '), { home: true, retry: passing });
    }
  }
}

// The host, waiting for herself in a tab of a browser that has not logged
// in, logs in here and opens the meeting.
$('host-login').addEventListener('click', () => {
  clearTimeout(retry);
  gate('login', 'Log in as the host', 'Log in with your host account to open the meeting.', { form: true });
  $('username').focus();
});

$('gate-retry').addEventListener('click', () => location.reload());

$('credentials').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const msg = await login(f.get('username'), f.get('password'));
  if (msg) {
    $('gate-error').textContent = msg;
    $('gate-error').hidden = false;
    return;
  }
  $('gate-error').hidden = true;
  droppedToken = ''; // a new credential: the old link's fate is no longer news
  start();
});

async function startMedia() {
  if (!opts.audio && !opts.video) return;
  if (!devicesAllowed()) {
    notice('This page is not secure (not HTTPS), so the browser gives it no camera or microphone: you can watch and listen.');
    return;
  }
  try {
    local = await navigator.mediaDevices.getUserMedia({ audio: opts.audio && constraints('audio'), video: opts.video && constraints('video') });
  } catch (err) {
    notice(`Camera or microphone unavailable: ${err.message}`);
    return;
  }
  $('self').srcObject = local;
  if (opts.hide) $('self-tile').classList.add('hidden');
}

function connect() {
  if (body.dataset.state !== 'lobby') setState('joining', 'Joining…');
  signal.addEventListener('welcome', (e) => onWelcome(e.detail));
  signal.addEventListener('track', (e) => e.detail.stream && tiles.track(e.detail.stream));
  signal.addEventListener('peer-joined', (e) => {
    peers.set(e.detail.peer.id, e.detail.peer);
    tiles.person(e.detail.peer.id);
    renderParticipants();
    notice(`${e.detail.peer.name || 'A guest'} joined`);
  });
  signal.addEventListener('peer-left', (e) => {
    const p = e.detail.peer;
    peers.delete(p.id);
    if (speaking === p.id) speaking = '';
    tiles.leave(p.id);
    renderParticipants();
    notice(`${p.name || 'A guest'} left`);
  });
  signal.addEventListener('connection', (e) => {
    const p = peers.get(e.detail.target);
    if (!p) return;
    p.connection = e.detail.level;
    tiles.render();
  });
  signal.addEventListener('room', (e) => {
    locked = e.detail.locked;
    renderLock();
    notice(locked ? 'The room was locked' : 'The room was unlocked');
  });
  signal.addEventListener('lobby', (e) => renderLobby(e.detail.peers || []));
  signal.addEventListener('speaker', (e) => {
    speaking = e.detail.target;
    markSpeaker();
  });
  signal.addEventListener('quality', (e) => onQuality(e.detail));
  signal.addEventListener('chat', (e) => showChat(e.detail));
  // An admin muted us: the server already forwards nothing; the page turns
  // the microphone off so that what we see matches, and unmuting is ours.
  signal.addEventListener('mute', (e) => {
    notice(e.detail.message || 'An admin muted your microphone');
    if (senders.audio) toggleSend('audio');
  });
  signal.addEventListener('state', (e) => {
    const p = e.detail.peer;
    const was = peers.get(p.id);
    peers.set(p.id, p);
    if (p.hand && !was?.hand) notice(`${p.name || 'A guest'} raised a hand`);
    tiles.render();
    renderParticipants();
  });
  signal.addEventListener('error', (e) => notice(e.detail.message));
  signal.addEventListener('bye', (e) => onBye(e.detail));
  signal.addEventListener('closed', (e) => {
    if (e.target !== signal) return; // a connection we have moved on from
    const state = body.dataset.state;
    if (['ejected', 'ended', 'denied', 'login'].includes(state)) return;
    if (cuts[e.detail.code]) return onCut(e.detail.code);
    if (!e.detail.welcomed && !rejoining) {
      gate('denied', 'You cannot join this room', 'The room may be locked or full: ask the host to let you in, then try again.', { home: true, retry: true });
    } else {
      comeBack();
    }
  });
  signal.join();
}

function onWelcome(m) {
  const again = rejoining;
  rejoining = false;
  attempts = 0;
  giveUpAt = 0;
  if (again) notice('Reconnected');
  self = m.peer;
  $('self-tile').dataset.peer = self.id;
  admin = self.role === 'host' || self.role === 'admin';
  locked = !!m.locked;
  $('lock').hidden = $('end').hidden = !admin;
  renderLock();
  for (const p of m.peers || []) {
    peers.set(p.id, p);
    tiles.person(p.id);
  }
  $('chat').replaceChildren();
  for (const c of m.chat || []) showChat(c);
  renderParticipants();
  setState('joined', `In ${room}`);
  renderWhoami();
  tiles.lastViews = ''; // a new connection knows nothing of our tiles
  // Coming back, we send again what we were sending when the connection
  // was lost; the first time, what the link asked for.
  transceivers = {}; // a new connection
  for (const t of local?.getTracks() || []) {
    if (again ? t.kind in senders : opts[t.kind]) senders[t.kind] = sendTrack(t);
    else t.enabled = false;
  }
  setButton('audio');
  setButton('video');
  sayState();
  tiles.render();
  if (again && screen) screen.senders = signal.publish(screen.stream, { screen: true });
  else if (!again && opts.screen) toggleScreen();
}

// comeBack leaves a connection that was lost without a final word (the
// media server died, the room moved, the network dropped) and tries again
// after a random wait that doubles up to 4 s, for two minutes.
function comeBack() {
  lastPass = signal?.pass || lastPass;
  signal?.close();
  signal = null;
  // The others come back with new ids: their tiles and entries go.
  tiles.clear();
  peers.clear();
  renderParticipants();
  renderLobby([]);
  if (!giveUpAt) giveUpAt = Date.now() + 120000;
  if (Date.now() > giveUpAt) {
    stopAll();
    return gate('error', 'Disconnected', 'The meeting could not be reached again. Check your connection, then try again.', { home: true, retry: true });
  }
  $('gate').hidden = true;
  setState('reconnecting', attempts ? `Reconnecting… (attempt ${attempts + 1})` : 'Connection lost. Reconnecting…');
  const wait = Math.random() * Math.min(4000, 250 * 2 ** attempts++);
  clearTimeout(retry);
  retry = setTimeout(rejoin, wait);
}

async function rejoin() {
  rejoining = true;
  signal = new Signal({ room, name, token: token(), signalPath: body.dataset.signalPath });
  signal.forceRelay = params.get('relay') === '1';
  signal.rejoin = lastPass;
  let check;
  try {
    check = await signal.check();
  } catch {
    return comeBack();
  }
  if (!check.ok) {
    if (check.status === 429 || check.status >= 500) return comeBack();
    stopAll();
    return refused(check, { final: true }); // a refusal at the door is final
  }
  if (check.role === 'lobby') gate('lobby', 'Waiting to be let in', `${room} is private. Someone in the meeting will let you in; keep this page open.`);
  connect();
}

// sendTrack publishes a microphone or, in its layers, a camera, on the
// transceiver it went out on before if there is one.
function sendTrack(track) {
  const t = transceivers[track.kind];
  if (t && signal.pub.getTransceivers().includes(t)) {
    t.sender.replaceTrack(track);
    return t.sender;
  }
  const sender = track.kind === 'video' ? signal.sendCamera(track, local) : signal.pub.addTrack(track, local);
  transceivers[track.kind] = signal.pub.getTransceivers().find((x) => x.sender === sender);
  return sender;
}

// stopSending stops a microphone or camera going out, keeping its
// transceiver for the next time.
function stopSending(kind) {
  transceivers[kind]?.sender.replaceTrack(null);
}

// sayState tells the room whether our microphone and camera are on.
let handRaised = false;
function sayState() {
  signal?.state({ muted: !senders.audio, cameraOff: !senders.video, hand: handRaised });
}

// showChat adds a chat message to the log, as text: whatever it holds is
// never markup (docs/browser.md, data-chat).
function showChat(m) {
  const li = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = m.peer?.id === self?.id ? 'You' : m.peer?.name || 'Guest';
  const text = document.createElement('span');
  text.dataset.chat = '';
  text.textContent = m.text;
  li.append(who, text);
  $('chat').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text || !signal) return;
  signal.chat(text);
  $('chat-text').value = '';
});

// Raise hand: everyone sees a ✋ on the tile and in the list until it is
// lowered.
$('hand').addEventListener('click', () => {
  handRaised = !handRaised;
  $('hand').setAttribute('aria-pressed', String(handRaised));
  $('hand').textContent = handRaised ? 'Lower hand' : 'Raise hand';
  sayState();
});

// onQuality shows what the link cannot carry: the paused videos, and
// audio only when that is all of them.
function onQuality(m) {
  tiles.paused(new Set(m.paused || []));
  const was = body.dataset.audioOnly === '1';
  body.dataset.audioOnly = m.audioOnly ? '1' : '';
  if (m.audioOnly && !was) notice('Your connection is weak: video is paused, audio goes on');
  else if (!m.audioOnly && was) notice('Video is back');
}

function onBye(m) {
  if (m.reason === 'admitted' && m.token) {
    // The pass lets us in through the front door like an invitation link.
    setToken(m.token);
    signal = null;
    setState('joining', 'Joining…');
    $('gate').hidden = true;
    start();
    return;
  }
  if (['moved', 'closing', 'error'].includes(m.reason) || (m.reason === 'refused' && ['moved', 'closing'].includes(m.code))) {
    comeBack();
    return;
  }
  const reasons = {
    denied: ['denied', 'Your request to join was turned down', m.message],
    refused: ['denied', 'You cannot join this room', m.message],
    ejected: ['ejected', 'Your time in this room is up', m.message],
    kicked: ['ejected', 'You were removed from the room', m.message],
    ended: ['ended', 'The meeting has ended', m.message],
  };
  const [state, title, text] = reasons[m.reason] || ['error', 'Disconnected', m.message || ''];
  stopAll();
  // A locked or full room may open: ask the host, then try again.
  const retry = m.reason === 'refused' && ['room_locked', 'room_full', 'lobby_full'].includes(m.code);
  gate(state, title, retry ? `${text} Ask the host to let you in, then try again.` : text || '', { home: true, retry });
}

// The gateway's word when it cuts a call itself, in the close frame's code
// (docs/signalling.md, "Cut by the gateway"): none of these comes back by
// trying again.
const cuts = {
  4001: ['denied', 'Your access was withdrawn', 'The link or login you joined with no longer works. Ask the host for a new link.'],
  4002: ['ended', 'The meeting has ended', 'The room was closed.'],
  4003: ['login', 'Your login has ended', 'You logged out (perhaps in another tab), or the login ran out. Log in again to go on.'],
  4004: ['ejected', 'You were removed from the room', 'You may not join it again.'],
  4005: ['ejected', 'Your time in this room is up', ''],
};

function onCut(code) {
  const [state, title, text] = cuts[code];
  clearTimeout(retry);
  stopAll();
  if (code === 4001 || code === 4003) clearToken();
  gate(state, title, text, { form: state === 'login', home: state !== 'login' });
  renderWhoami();
}

function stopAll() {
  signal?.close();
  local?.getTracks().forEach((t) => t.stop());
  screen?.stream.getTracks().forEach((t) => t.stop());
  tiles.clear();
}

// Muting and turning the camera off stop sending the track, so the others'
// copy of it ends; turning them on sends it again, asking for the device
// then if it was off from the start.
const buttons = { audio: ['mute', 'Mute', 'Unmute'], video: ['camera', 'Camera off', 'Camera on'] };

function setButton(kind) {
  if (kind === 'video') {
    // Our own tile shows our initials while the camera is off.
    $('self-tile').classList.toggle('novideo', !senders.video);
    $('self-avatar').textContent = initials(name || 'You');
  }
  const [id, onLabel, offLabel] = buttons[kind];
  $(id).setAttribute('aria-pressed', senders[kind] ? 'false' : 'true');
  $(id).textContent = senders[kind] ? onLabel : offLabel;
}

const asking = {}; // kind → a device request is under way

async function toggleSend(kind) {
  if (!signal?.pub || asking[kind]) return;
  let track = local?.getTracks().find((t) => t.kind === kind);
  if (senders[kind]) {
    stopSending(kind);
    delete senders[kind];
    track.enabled = false;
  } else {
    if (!track) {
      asking[kind] = true;
      try {
        if (!devicesAllowed()) throw new Error('this page is not secure (not HTTPS)');
        [track] = (await navigator.mediaDevices.getUserMedia({ [kind]: constraints(kind) })).getTracks();
      } catch (err) {
        notice(`${kind === 'audio' ? 'Microphone' : 'Camera'} unavailable: ${err.message}`);
        return;
      } finally {
        asking[kind] = false;
      }
      if (!local) {
        local = new MediaStream();
        $('self').srcObject = local;
      }
      local.addTrack(track);
    }
    track.enabled = true;
    senders[kind] = sendTrack(track);
  }
  setButton(kind);
  sayState();
}
const toggleMute = () => toggleSend('audio');
const toggleCamera = () => toggleSend('video');

async function toggleScreen() {
  if (!signal?.pub) return;
  if (screen) {
    signal.unpublishScreen(screen.stream, screen.senders);
    screen.stream.getTracks().forEach((t) => t.stop());
    screen = null;
    $('screen').setAttribute('aria-pressed', 'false');
    $('screen').textContent = 'Share screen';
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
    screen = { stream, senders: signal.publish(stream, { screen: true }) };
    stream.getVideoTracks()[0].onended = () => screen && toggleScreen();
    $('screen').setAttribute('aria-pressed', 'true');
    $('screen').textContent = 'Stop sharing';
  } catch (err) {
    notice(`Screen share failed: ${err.message}`);
  }
}

$('mute').addEventListener('click', toggleMute);
$('camera').addEventListener('click', toggleCamera);
$('screen').addEventListener('click', toggleScreen);
$('lock').addEventListener('click', () => signal?.lock(!locked));
// "End for all" asks once more before everyone is sent away: the first
// press arms it for five seconds, the second ends the meeting.
let endArmed = null;
function disarmEnd() {
  clearTimeout(endArmed);
  endArmed = null;
  $('end').textContent = 'End for all';
  $('end').removeAttribute('aria-label');
}
$('end').addEventListener('click', () => {
  if (!endArmed) {
    $('end').textContent = 'Press again to end for everyone';
    $('end').setAttribute('aria-label', 'Confirm: end the meeting for everyone');
    endArmed = setTimeout(disarmEnd, 5000);
    return;
  }
  disarmEnd();
  signal?.end();
});

// Who is logged in, read from the host token for the page to show (the
// gateway checks the token; the page only names its user).
async function renderWhoami() {
  const user = (await session())?.user || '';
  $('whoami').hidden = $('logout').hidden = !user;
  $('whoami').textContent = user ? `Logged in as ${user}` : '';
}

$('logout').addEventListener('click', async () => {
  clearTimeout(retry);
  stopAll();
  gate('ended', 'You logged out', 'Log in again to host a meeting here.', { home: true });
  await logout();
  renderWhoami();
});
$('copy').addEventListener('click', async () => {
  const link = `${location.origin}/join/${room}`;
  try {
    await navigator.clipboard.writeText(link);
    notice('Link copied');
  } catch {
    notice(`Share this link: ${link}`);
  }
});
$('leave').addEventListener('click', () => {
  clearTimeout(retry);
  stopAll();
  gate('ended', 'You left the meeting', '', { home: true });
});

// For diagnostics and tests: the call's signalling and peer connections.
window.roomgate = { get signal() { return signal; } };

renderWhoami();
start();
