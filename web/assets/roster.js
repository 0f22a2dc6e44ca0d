// The people in the call: who comes, goes, speaks and says what of
// themselves, as the server tells it; the participants list (us first,
// each one's role and raised hand, an admin's Mute and Remove); and the
// lobby an admin lets people in from.

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
    this.admin = false;       // host or admin: may let people in, remove, lock, end
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

  // render lists everyone in the room.
  render() {
    const self = this.self;
    const ul = $('participants');
    ul.replaceChildren();
    const all = self ? [[self.id, self], ...this.people] : [...this.people];
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
      if (this.admin && id !== self?.id) {
        if (!p.muted) li.append(button('Mute', 'mute', `Mute ${p.name || 'this guest'}`, () => this.signal()?.mute(id)));
        li.append(button('Remove', 'remove', `Remove ${p.name || 'this guest'} from the room`, () => this.signal()?.kick(id)));
      }
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

function button(text, cls, label, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onclick);
  return b;
}
