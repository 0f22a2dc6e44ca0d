// Waiting to come in (docs/browser.md, "Waiting"): words that say what
// will happen, for waiting for the host to arrive and for waiting to be
// let in; the person's own camera, which only they see (nothing is sent
// while they wait); and Cancel, which stops waiting.

import { constraints, devicesAllowed } from './prejoin.js';

const $ = (id) => document.getElementById(id);

// The words, by what the gateway's check said: then is what happens when
// the host comes ("lobby": they let you in; "join": you come in at once);
// early says the lobby is for having come before the host, else the room
// is private. The room's name is shown as it was typed.
export const words = {
  host: (then) => (then === 'join'
    ? 'The meeting starts when the host joins. Keep this page open: it takes you in as soon as the host is here.'
    : 'The meeting starts when the host joins. Keep this page open: when the host is here, it asks them to let you in, and you come in when they do.'),
  lobby: (early, room) => (early
    ? 'You came before the host. The host is here now and sees that you are waiting: you come in when they let you in. Keep this page open.'
    : `The room ${room} is private. Someone in the meeting will let you in; keep this page open.`),
  cancelled: 'Nobody is told you are waiting any more. Try again to wait again.',
};

// Preview shows the camera on the waiting page, once, however often the
// page checks again, until stop.
export class Preview {
  constructor() {
    this.stream = null;
    this.opening = null;
  }

  async show() {
    const video = $('gate-preview');
    if (this.stream || this.opening || !devicesAllowed()) return;
    this.opening = navigator.mediaDevices.getUserMedia({ video: constraints('video') }).catch(() => null);
    const stream = await this.opening;
    // Stopped while the camera was opening: let it go at once.
    if (!this.opening) {
      stream?.getTracks().forEach((t) => t.stop());
      return;
    }
    this.opening = null;
    this.stream = stream;
    if (!stream) return;
    video.srcObject = stream;
    video.hidden = false;
  }

  stop() {
    this.opening = null;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    $('gate-preview').srcObject = null;
    $('gate-preview').hidden = true;
  }
}
