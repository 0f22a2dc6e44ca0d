// The call's controls: what we send (microphone, camera, screen share) and
// the buttons that change it, raise hand, lock the room, end it for all
// (in a host's menu, away from Leave), and copy its link. Leave is the
// call's own (room.js).

import { initials } from './tiles.js';
import { constraints, devicesAllowed } from './prejoin.js';
import { token } from './token.js';

const $ = (id) => document.getElementById(id);

// Muting and turning the camera off stop sending the track, so the others'
// copy of it ends; turning them on sends it again, asking for the device
// then if it was off from the start.
const buttons = { audio: ['mute', 'Mute', 'Unmute'], video: ['camera', 'Camera off', 'Camera on'] };

// invitation is, on a user_auth site, a link a guest without a login can
// join with: the gateway mints it for a logged-in host (by the host
// cookie, or the tab's host token), the token in the fragment, which no
// server or log sees (docs/gateway.md, "Invitations"). '' elsewhere, or
// for anyone else.
async function invitation(room) {
  if (document.body.dataset.userAuth !== 'true') return '';
  const t = token();
  try {
    const res = await fetch('/invitation', {
      method: 'POST', body: JSON.stringify({ room }),
      headers: { 'Content-Type': 'application/json', ...(t.split('.').length === 3 ? { Authorization: `Bearer ${t}` } : {}) },
    });
    return res.ok ? location.origin + (await res.json()).link : '';
  } catch {
    return '';
  }
}

export class Controls {
  // room: the room's name; signal(): the connection now, or null; name():
  // our display name; notice(text) tells the person; own(state) shows what
  // we say of ourselves (the server tells only the others).
  constructor({ room, signal, name, notice, own }) {
    this.signal = signal;
    this.name = name;
    this.notice = notice;
    this.own = own;
    this.local = null;       // camera and microphone
    // kind → the transceiver the microphone or camera goes out on. Turned off,
    // it sends nothing (its track is replaced by none) and stays, and the room
    // hears so through a state message; turned on again, it sends the track
    // again: no renegotiation, no new section per toggle.
    this.transceivers = {};
    this.senders = {};       // kind → RTCRtpSender
    this.screen = null;      // {stream, senders}
    this.locked = false;
    this.handRaised = false;
    this.asking = {};        // kind → a device request is under way
    this.endArmed = null;

    $('mute').addEventListener('click', () => this.toggleSend('audio'));
    $('camera').addEventListener('click', () => this.toggleSend('video'));
    $('screen').addEventListener('click', () => this.toggleScreen());
    // Raise hand: everyone sees a ✋ on the tile and in the list until it is
    // lowered.
    $('hand').addEventListener('click', () => {
      this.handRaised = !this.handRaised;
      this.renderHand();
      this.sayState();
    });
    $('lock').addEventListener('click', () => this.signal()?.lock(!this.locked));
    // "End for all" asks once more before everyone is sent away: the first
    // press arms it for five seconds, the second ends the meeting.
    $('end').addEventListener('click', () => {
      if (!this.endArmed) {
        $('end').textContent = 'Press again to end for everyone';
        $('end').setAttribute('aria-label', 'Confirm: end the meeting for everyone');
        this.endArmed = setTimeout(() => this.disarmEnd(), 5000);
        return;
      }
      this.disarmEnd();
      this.signal()?.end();
    });
    // The host's menu opens and closes with its button, and closes with
    // Escape or a click elsewhere; it stays open while End is armed.
    $('more').addEventListener('click', () => this.openMenu($('more-menu').hidden));
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || $('more-menu').hidden) return;
      this.openMenu(false);
      $('more').focus();
    });
    document.addEventListener('click', (e) => e.target.closest('#host-tools') || this.openMenu(false));
    $('copy').addEventListener('click', async () => {
      const link = await invitation(room) || `${location.origin}/join/${room}`;
      try {
        await navigator.clipboard.writeText(link);
        this.notice('Link copied');
      } catch {
        this.notice(`Share this link: ${link}`);
      }
    });
  }

  // resume sends on a new connection: coming back (again), what we were
  // sending when the connection was lost; the first time, what the link
  // asked for (opts).
  resume(again, opts) {
    this.transceivers = {}; // a new connection
    for (const t of this.local?.getTracks() || []) {
      if (again ? t.kind in this.senders : opts[t.kind]) this.senders[t.kind] = this.sendTrack(t);
      else t.enabled = false;
    }
    this.setButton('audio');
    this.setButton('video');
    this.sayState();
  }

  // shareAgain shares the screen on a new connection: coming back (again),
  // the one we were sharing; the first time, if the link asked (opts).
  shareAgain(again, opts) {
    if (again && this.screen) this.screen.senders = this.signal().publish(this.screen.stream, { screen: true });
    else if (!again && opts.screen) this.toggleScreen();
  }

  // sendTrack publishes a microphone or, in its layers, a camera, on the
  // transceiver it went out on before if there is one.
  sendTrack(track) {
    const signal = this.signal();
    const t = this.transceivers[track.kind];
    if (t && signal.pub.getTransceivers().includes(t)) {
      t.sender.replaceTrack(track);
      return t.sender;
    }
    const sender = track.kind === 'video' ? signal.sendCamera(track, this.local) : signal.pub.addTrack(track, this.local);
    this.transceivers[track.kind] = signal.pub.getTransceivers().find((x) => x.sender === sender);
    return sender;
  }

  // stopSending stops a microphone or camera going out, keeping its
  // transceiver for the next time.
  stopSending(kind) {
    this.transceivers[kind]?.sender.replaceTrack(null);
  }

  // sayState tells the room whether our microphone and camera are on.
  sayState() {
    const state = { muted: !this.senders.audio, cameraOff: !this.senders.video, hand: this.handRaised };
    this.signal()?.state(state);
    this.own(state);
  }

  setButton(kind) {
    if (kind === 'video') {
      // Our own tile shows our initials while the camera is off.
      $('self-tile').classList.toggle('novideo', !this.senders.video);
      $('self-avatar').textContent = initials(this.name() || 'You');
    }
    const [id, onLabel, offLabel] = buttons[kind];
    $(id).setAttribute('aria-pressed', this.senders[kind] ? 'false' : 'true');
    $(id).textContent = this.senders[kind] ? onLabel : offLabel;
  }

  async toggleSend(kind) {
    if (!this.signal()?.pub || this.asking[kind]) return;
    let track = this.local?.getTracks().find((t) => t.kind === kind);
    if (this.senders[kind]) {
      this.stopSending(kind);
      delete this.senders[kind];
      track.enabled = false;
    } else {
      if (!track) {
        this.asking[kind] = true;
        try {
          if (!devicesAllowed()) throw new Error('this page is not secure (not HTTPS)');
          [track] = (await navigator.mediaDevices.getUserMedia({ [kind]: constraints(kind) })).getTracks();
        } catch (err) {
          this.notice(`${kind === 'audio' ? 'Microphone' : 'Camera'} unavailable: ${err.message}`);
          return;
        } finally {
          this.asking[kind] = false;
        }
        if (!this.local) {
          this.local = new MediaStream();
          $('self').srcObject = this.local;
        }
        this.local.addTrack(track);
      }
      track.enabled = true;
      this.senders[kind] = this.sendTrack(track);
    }
    this.setButton(kind);
    this.sayState();
  }

  async toggleScreen() {
    if (!this.signal()?.pub) return;
    if (this.screen) {
      this.signal().unpublishScreen(this.screen.stream, this.screen.senders);
      this.screen.stream.getTracks().forEach((t) => t.stop());
      this.screen = null;
      this.renderScreen();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      this.screen = { stream, senders: this.signal().publish(stream, { screen: true }) };
      stream.getVideoTracks()[0].onended = () => this.screen && this.toggleScreen();
      this.renderScreen();
    } catch (err) {
      this.notice(`Screen share failed: ${err.message}`);
    }
  }

  // stop ends our camera, microphone and screen share, and lowers the
  // hand: a call joined again (Rejoin) starts afresh.
  stop() {
    this.local?.getTracks().forEach((t) => t.stop());
    this.screen?.stream.getTracks().forEach((t) => t.stop());
    this.local = this.screen = null;
    this.senders = {};
    this.handRaised = false;
    this.renderScreen();
    this.renderHand();
    this.openMenu(false);
  }

  renderScreen() {
    $('screen').setAttribute('aria-pressed', String(!!this.screen));
    $('screen').textContent = this.screen ? 'Stop sharing' : 'Share screen';
  }

  renderHand() {
    $('hand').setAttribute('aria-pressed', String(this.handRaised));
    $('hand').textContent = this.handRaised ? 'Lower hand' : 'Raise hand';
  }

  openMenu(open) {
    $('more-menu').hidden = !open;
    $('more').setAttribute('aria-expanded', String(open));
  }

  // showAdmin shows or hides what only a host, admin or owner may use.
  showAdmin(admin) {
    $('lock').hidden = $('end').hidden = $('host-tools').hidden = !admin;
    if (!admin) this.openMenu(false);
  }

  renderLock() {
    $('lock').setAttribute('aria-pressed', String(this.locked));
    $('lock').textContent = this.locked ? 'Unlock room' : 'Lock room';
  }

  disarmEnd() {
    clearTimeout(this.endArmed);
    this.endArmed = null;
    $('end').textContent = 'End for all';
    $('end').removeAttribute('aria-label');
  }
}
