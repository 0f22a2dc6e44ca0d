// The people in the call: who comes, goes, speaks and says what of
// themselves, as the server tells it; the participants list (us first,
// each one's role, muted microphone, camera off and raised hand, an
// admin's Mute and Remove); and the lobby an admin lets people in from.

import { stateIcons, showStates } from './icons.js';

const $ = (id) => document.getElementById(id);

export class Roster {
  // people: id → PeerInfo, the others in the room, kept here from what the
  // server says (the tiles read it); tiles: the call's tiles; signal(): the
  // connection now, or null; notice(text) tells the person.
  constructor({ people, tiles, signal, notice }) {
    this.people = people;
    this.tiles = tiles;
    this.signal = signal;
    this.notice = notice;
    this.self = null;         // our PeerInfo
    this.admin = false;       // host, admin or owner: may let people in, remove, lock, end
    this.removing = null;     // the person whose Remove asks to be confirmed
    this.speaking = '';       // the peer the server last said is speaking
    this.waiting = new Map(); // lobby: id → name, as the server last told us
  }

  joined(peer) {
    this.people.set(peer.id, peer);
    this.tiles.person(peer.id);
    this.render();
    this.notice(`${peer.name || 'A guest'} joined`);
  }

  left(p) {
    this.people.delete(p.id);
    if (this.speaking === p.id) this.speaking = '';
    this.tiles.leave(p.id);
    this.render();
    this.notice(`${p.name || 'A guest'} left`);
  }

  // state takes what someone said of themselves: muted, camera off, hand.
  state(p) {
    const was = this.people.get(p.id);
    this.people.set(p.id, p);
    if (p.hand && !was?.hand) this.notice(`${p.name || 'A guest'} raised a hand`);
    this.tiles.render();
    this.render();
  }

  // role takes someone's new role (an open room's owner passed on, or gave
  // way to a host); it says whether it is ours.
  role(p) {
    const mine = p.id === this.self?.id;
    if (mine) {
      this.self.role = p.role;
      this.admin = isAdmin(p.role);
      this.notice(this.admin ? 'You now run this room' : 'You no longer run this room');
      if (!this.admin) this.lobby([]);
    } else if (this.people.has(p.id)) {
      this.people.get(p.id).role = p.role;
    }
    this.render();
    return mine;
  }

  // own takes what we said of ourselves (muted, cameraOff, hand): the
  // server tells only the others.
  own(state) {
    if (this.self) Object.assign(this.self, state);
    this.tiles.own(state);
    this.render();
  }

  // connection takes how well media reaches someone.
  connection({ target, level }) {
    const p = this.people.get(target);
    if (!p) return;
    p.connection = level;
    this.tiles.render();
  }

  speaker(id) {
    this.speaking = id;
    this.markSpeaker();
  }

  // An admin's buttons for another person: Mute, and Remove, which asks once
  // (Remove, Remove and keep out, Cancel) before acting.
  adminButtons(id, p) {
    const who = p.name || 'this guest';
    const done = (act) => () => { this.removing = null; act(); this.render(); };
    if (this.removing === id) {
      const ask = document.createElement('span');
      ask.className = 'ask';
      ask.textContent = `Remove ${who}?`;
      return [ask,
        button('Remove', 'remove-confirm', `Remove ${who} now`, done(() => this.signal()?.kick(id))),
        button('Remove and keep out', 'remove-ban', `Remove ${who} and keep them out of this room`, done(() => this.signal()?.kick(id, {}))),
        button('Cancel', 'remove-cancel', `Do not remove ${who}`, done(() => {}))];
    }
    const out = [];
    if (!p.muted) out.push(button('Mute', 'mute', `Mute ${who}`, () => this.signal()?.mute(id)));
    out.push(button('Remove', 'remove', `Remove ${who} from the room`, () => { this.removing = id; this.render(); }));
    return out;
  }

  // render lists everyone in the room, each entry saying who they are
  // (docs/browser.md, "Page contract": data-person, data-role, data-audio,
  // data-video).
  render() {
    const self = this.self;
    const ul = $('participants');
    ul.replaceChildren();
    const all = self ? [[self.id, self], ...this.people] : [...this.people];
    for (const [id, p] of all) {
      const li = document.createElement('li');
      li.dataset.peer = li.dataset.person = id;
      li.dataset.role = p.role || 'guest';
      li.dataset.audio = p.muted ? 'off' : 'on';
      li.dataset.video = p.cameraOff ? 'off' : 'on';
      const label = document.createElement('span');
      label.textContent = id === self?.id ? `${p.name || 'You'} (you)` : p.name || 'Guest';
      const states = stateIcons();
      showStates(states, p);
      const role = document.createElement('span');
      role.className = 'role';
      role.textContent = li.dataset.role;
      li.append(label, states, role);
      if (this.admin && id !== self?.id) li.append(...this.adminButtons(id, p));
      ul.append(li);
    }
    $('count').textContent = `(${all.length})`;
    this.markSpeaker();
  }

  // lobby shows an admin who waits to be let in.
  lobby(list) {
    const before = this.waiting;
    const waiting = new Map(list.map((p) => [p.id, p.name]));
    this.waiting = waiting;
    for (const [id, n] of waiting) if (!before.has(id)) this.notice(`${n || 'Someone'} is waiting to join`);
    const ul = $('lobby');
    ul.replaceChildren();
    for (const [id, n] of waiting) {
      const li = document.createElement('li');
      li.dataset.peer = id;
      const label = document.createElement('span');
      label.textContent = n || 'Guest';
      const who = n || 'this guest';
      li.append(label,
        button('Admit', 'admit', `Let ${who} in`, () => this.signal()?.admit(id)),
        button('Deny', 'deny', `Turn ${who} away`, () => this.signal()?.deny(id)));
      ul.append(li);
    }
    $('lobby-count').textContent = `(${waiting.size})`;
    $('lobby-panel').hidden = !this.admin || waiting.size === 0;
  }

  // markSpeaker rings the speaker's tile and marks their list entry.
  markSpeaker() {
    this.tiles.markSpeaker(this.speaking);
    document.querySelectorAll('#participants li[data-peer]').forEach((el) => {
      el.classList.toggle('speaking', el.dataset.peer === this.speaking);
    });
  }
}

// isAdmin says whether a role may let people in, remove, mute, lock and end.
export const isAdmin = (role) => ['host', 'admin', 'owner'].includes(role);

function button(text, cls, label, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onclick);
  return b;
}
