// The room page and its call: the door (checks, the pre-join screen, a
// login), the connection and coming back when it is lost, and how a call
// ends. The tiles, the people, the chat and the controls are modules of
// their own; this one holds the call's state and hands each what it needs.

import { Signal } from './signal.js';
import { Tiles } from './tiles.js';
import { prejoin } from './prejoin.js';
import { takeFragmentToken, token, login, setToken, clearToken, session, logout, ownerPass } from './token.js';
import { Roster, isAdmin } from './roster.js';
import { Chat } from './chat.js';
import { Controls } from './controls.js';
import { Notices } from './notices.js';
import { tabs } from './tabs.js';
import { farewell, cuts, droppedLink, sentence } from './endings.js';
import { Devices } from './devices.js';
import { shortcuts } from './shortcuts.js';
import { words } from './waiting.js';
import { gate, setState, preview } from './gate.js';

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
const notices = new Notices({ stack: $('notices'), log: $('announcements') });
const notice = (text) => opts.notify && notices.show(text);
const roster = new Roster({ people: peers, tiles, signal: () => signal, notice });
const chat = new Chat({ signal: () => signal, self: () => roster.self });
const controls = new Controls({ room, signal: () => signal, name: () => name, notice, own: (s) => roster.own(s) });
tabs($('side-tabs'), (tab) => tab.id === 'tab-chat' && chat.seen(0));
const devices = new Devices({ controls, notice });
shortcuts({ chat: () => ($('tab-chat').click(), $('chat-text').focus()) });
let signal = null;
let retry = null;
// Why the token this tab held was dropped, shown beside whatever the page
// asks next: a dead link must not stay in the tab and refuse every room after.
let droppedToken = '';
// Coming back after a lost connection (docs/signalling.md, "Coming back").
let attempts = 0;       // tries since the connection was lost
let giveUpAt = 0;       // when to stop trying; 0: connected
let lastPass = null;    // the rejoin pass of the connection that was lost
let rejoining = false;  // the connection being made replaces a lost one

function newSignal() {
  const s = new Signal({ room, name, token: token(), signalPath: body.dataset.signalPath });
  s.forceRelay = params.get('relay') === '1';
  s.ownerPass = ownerPass(room);
  return s;
}

const waitInLobby = (early) => gate('lobby', 'Waiting to be let in', words.lobby(early, room), { cancel: true });

async function start() {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) {
    return gate('error', 'No such room', 'Room names are 1 to 64 letters, digits, - or _.', { home: true });
  }
  const asking = (signal = newSignal());
  let check;
  try {
    check = await signal.check();
  } catch (err) {
    return gate('error', 'Cannot reach the server', 'Check your connection, then try again.', { retry: true });
  }
  if (signal !== asking) return; // Cancel or the host's login was pressed meanwhile
  if (!check.ok) return refused(check);
  if (check.usesLeft === 0) {
    clearToken();
    return gate('denied', 'This invitation has been used up', 'The link was used as often as it may be. Ask the host for a new one.', { home: true });
  }
  if (check.role === 'lobby') {
    // Nothing of the room, and nothing of ours sent, until someone lets us in.
    waitInLobby(check.early);
    return connect();
  }
  $('gate').hidden = true;
  preview.stop();
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
    if (!controls.local?.getTracks().some((t) => t.readyState === 'live')) await devices.start(opts);
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
  controls.local = chosen.stream;
  $('self').srcObject = controls.local;
  if (opts.hide) $('self-tile').classList.add('hidden');
}

function refused(check, { final = false } = {}) {
  if (['invalid_token', 'session_ended', 'wrong_address'].includes(check.code) && token()) {
    clearToken();
    droppedToken = droppedLink(check);
    // On arrival the room may still be open to someone without one.
    if (!final) return start();
    return gate('denied', 'You cannot join this room', droppedToken, { home: true });
  }
  // Coming back to a room that is gone: its meeting has ended.
  if (check.code === 'no_such_room' && final) return gate('ended', 'The meeting has ended', 'The room was closed.', { home: true });
  switch (check.code) {
    case 'host_absent':
      gate('waiting-for-host', 'Waiting for the host', words.host(check.then), { cancel: true });
      $('host-login').hidden = false;
      showDropped();
      retry = setTimeout(start, 3000);
      return;
    case 'room_ended': // said before the pre-join screen, not after Join
      return gate('ended', 'The meeting has ended', 'It was ended for everyone; only a host can open it again.', { home: true });
    case 'credentials_required':
    case 'session_ended':
      if (check.code === 'session_ended') clearToken();
      gate('login', 'Log in to join', 'This room needs an account or an invitation link.', { form: true });
      showDropped();
      return;
    default: {
      // A refusal that may not hold for long (a full or locked room, too
      // many at the door, the server busy) offers to try again.
      const passing = check.status === 429 || check.status >= 500 || ['room_full', 'room_locked', 'lobby_full'].includes(check.code);
      gate('denied', 'You cannot join this room',
        [droppedToken, sentence(check.message) || `The server said no (${check.status}).`].filter(Boolean).join(' '), { home: true, retry: passing });
    }
  }
}

// showDropped says, beside what the page asks next, why the link's token was dropped.
function showDropped() {
  $('gate-error').textContent = droppedToken;
  $('gate-error').hidden = !droppedToken;
}

// The host, waiting for herself in a tab of a browser that has not logged
// in, logs in here and opens the meeting.
$('host-login').addEventListener('click', () => {
  clearTimeout(retry);
  signal = null; // a check still on its way must not put the waiting page back
  gate('login', 'Log in as the host', 'Log in with your host account to open the meeting.', { form: true });
  ($('credentials').hidden ? $('gate-idp') : $('username')).focus();
});

$('gate-retry').addEventListener('click', () => location.reload());

// Cancel stops waiting: no more checks, and a knock's connection closes,
// so the server forgets it and the host's lobby no longer lists us.
$('gate-cancel').addEventListener('click', () => {
  clearTimeout(retry);
  const s = signal;
  signal = null;
  s?.close();
  gate('ended', 'You stopped waiting', words.cancelled, { home: true, retry: true });
});

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

function connect() {
  if (body.dataset.state !== 'lobby') setState('joining', 'Joining…');
  signal.addEventListener('welcome', (e) => onWelcome(e.detail));
  signal.addEventListener('track', (e) => e.detail.stream && tiles.track(e.detail.stream));
  signal.addEventListener('peer-joined', (e) => roster.joined(e.detail.peer));
  signal.addEventListener('peer-left', (e) => roster.left(e.detail.peer));
  signal.addEventListener('connection', (e) => roster.connection(e.detail));
  signal.addEventListener('room', (e) => {
    controls.locked = e.detail.locked;
    controls.renderLock();
    notice(controls.locked ? 'The room was locked' : 'The room was unlocked');
  });
  signal.addEventListener('lobby', (e) => roster.lobby(e.detail.peers || []));
  signal.addEventListener('speaker', (e) => roster.speaker(e.detail.target));
  signal.addEventListener('quality', (e) => onQuality(e.detail));
  signal.addEventListener('chat', (e) => chat.show(e.detail));
  // An admin muted us: the server already forwards nothing; the page turns
  // the microphone off so that what we see matches, and unmuting is ours.
  signal.addEventListener('mute', (e) => {
    notice(e.detail.message || 'An admin muted your microphone');
    if (controls.senders.audio) controls.toggleSend('audio');
  });
  signal.addEventListener('state', (e) => roster.state(e.detail.peer));
  signal.addEventListener('role', (e) => roster.role(e.detail.peer) && controls.showAdmin(roster.admin));
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
  else if (droppedToken) notice(droppedToken); // in anyway, without the link's rights
  const self = m.peer;
  roster.self = self;
  $('self-tile').dataset.peer = self.id;
  roster.admin = isAdmin(self.role);
  controls.locked = !!m.locked;
  controls.showAdmin(roster.admin);
  controls.renderLock();
  for (const p of m.peers || []) {
    peers.set(p.id, p);
    tiles.person(p.id);
  }
  chat.history(m.chat || []);
  roster.render();
  setState('joined', `In ${room}`);
  renderWhoami();
  tiles.lastViews = ''; // a new connection knows nothing of our tiles
  // Coming back, we send again what we were sending when the connection
  // was lost; the first time, what the link asked for.
  controls.resume(again, opts);
  tiles.render();
  controls.shareAgain(again, opts);
}

// comeBack leaves a connection that was lost without a final word (the
// media server died, the room moved, the network dropped) and tries again
// after a random wait that doubles up to 4 s, for two minutes.
function comeBack() {
  lastPass = signal?.pass || lastPass;
  signal?.close();
  signal = null;
  forget();
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
  signal = newSignal();
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
  if (check.role === 'lobby') waitInLobby(check.early);
  connect();
}

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
  const [state, title, text, retry] = farewell(m);
  stopAll();
  gate(state, title, text, { home: true, retry });
}

function onCut(code) {
  const [state, title, text] = cuts[code];
  clearTimeout(retry);
  stopAll();
  if (code === 4001 || code === 4003) clearToken();
  gate(state, title, text, { form: state === 'login', home: state !== 'login' });
  renderWhoami();
}

// forget drops the others' tiles and entries: coming back, they have new ids.
function forget() {
  tiles.clear();
  peers.clear();
  roster.render();
  roster.lobby([]);
}

function stopAll() {
  signal?.close();
  controls.stop();
  tiles.clear();
}

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
$('leave').addEventListener('click', () => {
  clearTimeout(retry);
  // Rejoin comes back sending what we sent as we left.
  opts.audio = !!controls.senders.audio;
  opts.video = !!controls.senders.video;
  stopAll();
  forget();
  gate('ended', 'You left the meeting', '', { home: true, rejoin: true });
});
// Rejoin: the same room, name, credential and devices, through the door
// again without a reload (the pre-join screen is not shown twice).
$('gate-rejoin').addEventListener('click', () => {
  $('gate').hidden = true;
  start();
});

// For diagnostics and tests: the call's signalling and peer connections.
window.roomgate = { get signal() { return signal; } };

renderWhoami();
start();
