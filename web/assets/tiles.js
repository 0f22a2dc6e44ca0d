// The call's tiles (docs/browser.md, "Layout" and "Page contract"): one per
// person in the room, whether or not they send anything, and one per screen
// share. A grid that fills the space and re-flows as people come and go; a
// pinned tile, or else a screen share, takes the stage with the others in a
// strip; on a phone someone always does: the speaker, or else the first of
// the others. The server hears how large each video is shown (view
// messages).

import { isScreenStream, peerOfStream } from './signal.js';
import { playOnSpeaker } from './prejoin.js';
import { stateIcons, showStates } from './icons.js';

const grid = document.getElementById('videos');
const gap = 12; // px, as .videos' gap
const phone = matchMedia('(max-width: 48rem)'); // as style.css's narrow layout
// On a touch screen a tap on a tile shows its tools (style.css).
const touch = matchMedia('(pointer: coarse)');

export class Tiles {
  // people: id → PeerInfo (read, never written); view(views) sends sizes.
  constructor({ people, view }) {
    this.people = people;
    this.sendView = view;
    this.pinned = ''; // the key of the pinned tile: a person's id or a screen's stream id
    this.speaking = '';
    this.lastViews = '';
    this.viewTimer = null;
    this.sizes = new ResizeObserver(() => this.reportViews());
    new ResizeObserver(() => this.fit()).observe(grid);
    document.addEventListener('visibilitychange', () => this.reportViews());
    phone.addEventListener('change', () => this.layout());
    this.selfStates = stateIcons();
    document.querySelector('#self-tile figcaption').append(this.selfStates);
  }

  // own shows on our tile what we said of ourselves.
  own(state) {
    showStates(this.selfStates, state);
  }

  // person returns someone's tile, made on first need.
  person(id) {
    let tile = grid.querySelector(`.tile[data-tile="${CSS.escape(id)}"]`);
    if (tile) return tile;
    tile = this.#make(id, id);
    tile.dataset.tile = id;
    this.render(); // #make rendered it before it was a person's
    return tile;
  }

  // track shows a received stream: a camera and microphone on its
  // sender's tile, a screen share on a tile of its own.
  track(stream) {
    const peer = peerOfStream(stream.id);
    let tile;
    if (isScreenStream(stream.id)) {
      tile = grid.querySelector(`.tile[data-stream="${CSS.escape(stream.id)}"]`) || this.#make(peer, stream.id, true);
    } else {
      tile = this.person(peer);
    }
    tile.dataset.stream = stream.id;
    const video = tile.querySelector('video');
    if (video.srcObject !== stream) {
      video.srcObject = stream;
      playOnSpeaker(video);
    }
    // No video in the stream (a microphone only): the initials, not black.
    const hasVideo = () => tile.classList.toggle('novideo', stream.getVideoTracks().length === 0);
    hasVideo();
    stream.onaddtrack = hasVideo;
    stream.onremovetrack = () => {
      hasVideo();
      if (stream.getTracks().length > 0) return;
      if (tile.classList.contains('screen')) {
        this.#drop(tile);
      } else if (video.srcObject === stream) {
        video.srcObject = null;
        delete tile.dataset.stream;
      }
      this.layout();
    };
    this.layout();
  }

  // leave removes a person's tiles.
  leave(id) {
    grid.querySelectorAll(`.tile[data-peer="${CSS.escape(id)}"]:not(.self)`).forEach((t) => this.#drop(t));
    if (this.speaking === id) this.speaking = '';
    this.layout();
  }

  // clear removes every tile but our own.
  clear() {
    grid.querySelectorAll('.tile:not(.self)').forEach((t) => this.#drop(t));
    this.lastViews = '';
    this.layout();
  }

  // render marks each person's tile with what they said of themselves and
  // how well media reaches them: data-audio, data-video, data-hand,
  // data-connection; their name and state icons; initials for a camera
  // turned off.
  render() {
    grid.querySelectorAll('.tile[data-tile]').forEach((tile) => {
      const p = this.people.get(tile.dataset.tile);
      if (!p) return;
      tile.dataset.audio = p.muted ? 'off' : 'on';
      tile.dataset.video = p.cameraOff ? 'off' : 'on';
      if (p.hand) tile.dataset.hand = '';
      else delete tile.dataset.hand;
      if (p.connection) tile.dataset.connection = p.connection;
      const name = p.name || 'Guest';
      tile.querySelector('.name').textContent = name;
      tile.querySelector('.avatar').textContent = initials(name);
      showStates(tile.querySelector('.states'), p);
      this.#labelTools(tile, name);
      const conn = tile.querySelector('.conn');
      conn.hidden = !p.connection;
      conn.setAttribute('aria-label', `Connection: ${p.connection || 'unknown'}`);
      conn.title = conn.getAttribute('aria-label');
    });
    grid.querySelectorAll('.tile.screen').forEach((tile) => {
      const name = this.people.get(tile.dataset.peer)?.name || 'Guest';
      tile.querySelector('.name').textContent = `${name} (screen)`;
      this.#labelTools(tile, `${name}'s screen`);
    });
    this.markSpeaker(this.speaking);
    this.reportViews(); // a camera turned off is not watched
  }

  // markSpeaker rings the speaker's tile (data-speaking while they speak)
  // and, on a phone, puts them on the stage.
  markSpeaker(id) {
    const moved = this.speaking !== id;
    this.speaking = id;
    if (moved && phone.matches) this.layout();
    grid.querySelectorAll('.tile[data-peer]:not(.screen)').forEach((t) => {
      const on = !!id && t.dataset.peer === id;
      t.classList.toggle('speaking', on);
      if (on) t.dataset.speaking = '';
      else delete t.dataset.speaking;
    });
  }

  // paused marks the videos the server does not send for want of bandwidth.
  paused(ids) {
    grid.querySelectorAll('.tile[data-stream]').forEach((t) => { t.dataset.paused = ids.has(t.dataset.stream) ? '1' : ''; });
  }

  pin(key) {
    this.pinned = this.pinned === key ? '' : key;
    this.layout();
  }

  // layout puts a pinned tile, or else a screen share, on the stage (on a
  // phone, or else the speaker or the first of the others), and fits the
  // rest.
  layout() {
    const keys = [...grid.querySelectorAll('.tile:not(.self)')].map(keyOf);
    if (this.pinned && !keys.includes(this.pinned)) this.pinned = '';
    const screenTile = grid.querySelector('.tile.screen');
    let staged = this.pinned || (screenTile ? keyOf(screenTile) : '');
    if (!staged && phone.matches) staged = keys.includes(this.speaking) ? this.speaking : keys[0] || '';
    grid.classList.toggle('staged', !!staged);
    grid.querySelectorAll('.tile:not(.self)').forEach((t) => {
      t.classList.toggle('pinned', keyOf(t) === staged);
      this.#labelPin(t);
    });
    this.fit();
    this.reportViews();
  }

  // fit chooses the grid's columns so that the tiles (16:9) are as large
  // as the space allows: 1 to 25 people fill the window, none scrolls.
  fit() {
    const narrow = phone.matches;
    const tiles = [...grid.querySelectorAll('.tile')].filter((t) => !t.classList.contains('hidden'));
    if (narrow || grid.classList.contains('staged') || !tiles.length) {
      grid.style.removeProperty('--cols');
      grid.style.removeProperty('--tile-w');
      return;
    }
    const w = grid.clientWidth;
    const h = grid.clientHeight;
    let best = { cols: 1, width: 0 };
    for (let cols = 1; cols <= tiles.length; cols++) {
      const rows = Math.ceil(tiles.length / cols);
      const width = Math.min((w - gap * (cols - 1)) / cols, ((h - gap * (rows - 1)) / rows) * 16 / 9);
      if (width > best.width) best = { cols, width };
    }
    grid.style.setProperty('--cols', String(best.cols));
    grid.style.setProperty('--tile-w', `${Math.max(0, Math.floor(best.width))}px`);
  }

  // reportViews tells the server, at most every 200 ms and only when
  // something changed, how large each received video is shown.
  reportViews() {
    if (this.viewTimer) return;
    this.viewTimer = setTimeout(() => {
      this.viewTimer = null;
      const dpr = window.devicePixelRatio || 1;
      const views = [];
      grid.querySelectorAll('.tile[data-stream]').forEach((t) => {
        const v = t.querySelector('video');
        if (!v?.srcObject?.getVideoTracks().length) return;
        const shown = !document.hidden && v.offsetParent !== null && t.dataset.video !== 'off';
        views.push({ stream: t.dataset.stream, width: shown ? Math.round(v.clientWidth * dpr) : 0, height: shown ? Math.round(v.clientHeight * dpr) : 0 });
      });
      const json = JSON.stringify(views);
      if (json === this.lastViews) return;
      if (this.sendView(views)) this.lastViews = json;
    }, 200);
  }

  // #make builds a tile: video, initials, name, connection, pin, full
  // screen, and the paused notice.
  #make(peer, key, screen = false) {
    const tile = document.createElement('figure');
    tile.className = screen ? 'tile screen' : 'tile novideo';
    tile.dataset.peer = peer;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.peer = peer;
    if (screen) video.dataset.source = 'screen';
    const avatar = document.createElement('div');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    const cap = document.createElement('figcaption');
    const name = document.createElement('span');
    name.className = 'name';
    const conn = document.createElement('span');
    conn.className = 'conn';
    conn.setAttribute('role', 'img');
    conn.hidden = true;
    conn.append(...[1, 2, 3].map(() => document.createElement('i')));
    cap.append(name, stateIcons(), conn);
    const tools = document.createElement('div');
    tools.className = 'tools';
    const pin = control('Pin', 'pin', () => this.pin(keyOf(tile)));
    const full = control('Full screen', 'full', () => (document.fullscreenElement === tile ? document.exitFullscreen() : tile.requestFullscreen?.()));
    tools.append(pin, full);
    const paused = document.createElement('p');
    paused.className = 'paused';
    paused.textContent = 'Video paused: your connection is too weak';
    tile.append(avatar, video, cap, tools, paused);
    tile.addEventListener('click', (e) => touch.matches && !e.target.closest('.tools') && tile.classList.toggle('show-tools'));
    if (screen) tile.dataset.stream = key;
    grid.append(tile);
    this.sizes.observe(tile);
    this.render();
    this.layout();
    return tile;
  }

  // #labelTools names a tile's Pin (Unpin while pinned) and Full screen
  // for whose they are.
  #labelTools(tile, who) {
    tile.who = who;
    this.#labelPin(tile);
    tile.querySelector('.full').setAttribute('aria-label', `Show ${who} full screen`);
  }

  #labelPin(tile) {
    const pinned = keyOf(tile) === this.pinned;
    const pin = tile.querySelector('.pin');
    pin.textContent = pinned ? 'Unpin' : 'Pin';
    pin.setAttribute('aria-pressed', String(pinned));
    pin.setAttribute('aria-label', `${pin.textContent} ${tile.who || 'this tile'}`);
  }

  #drop(tile) {
    this.sizes.unobserve(tile);
    if (document.fullscreenElement === tile) document.exitFullscreen();
    tile.remove();
  }
}

const keyOf = (t) => (t ? t.dataset.tile || t.dataset.stream || '' : '');

function control(text, cls, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.addEventListener('click', onclick);
  return b;
}

export function initials(name) {
  const words = (name || 'Guest').trim().split(/\s+/).filter(Boolean);
  return words.slice(0, 2).map((w) => [...w][0].toUpperCase()).join('') || '?';
}
