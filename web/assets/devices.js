// Devices in the call (docs/browser.md, "Devices in the call"): the
// Device settings dialog changes camera, microphone and speaker without
// leaving, and Flip camera turns a phone's camera around. A new camera or
// microphone goes out on the sender the old one used (replaceTrack): no
// renegotiation, the camera's simulcast layers kept; a microphone that is
// muted or a camera that is off stays so (the new device is held, not
// sent, until it is turned on).

import { constraints, devicesAllowed, remember, remembered, playOnSpeaker } from './prejoin.js';

const $ = (id) => document.getElementById(id);
const kinds = { camera: 'video', microphone: 'audio' };
const canChooseSpeaker = 'setSinkId' in HTMLMediaElement.prototype;

export class Devices {
  // controls: the call's Controls (its local stream and senders); notice(text).
  constructor({ controls, notice }) {
    this.controls = controls;
    this.notice = notice;
    this.busy = false;
    this.cameras = [];
    const dialog = $('devices-dialog');
    $('devices').addEventListener('click', async () => {
      await this.fill();
      dialog.showModal();
    });
    // Focus goes back to the button that opened it.
    dialog.addEventListener('close', () => $('devices').focus());
    for (const what of Object.keys(kinds)) {
      $(`device-${what}`).addEventListener('change', (e) => this.use(kinds[what], { deviceId: { exact: e.target.value } }));
    }
    $('device-speaker').addEventListener('change', (e) => {
      remember('speaker', e.target.value);
      for (const v of document.querySelectorAll('#videos video:not(#self)')) playOnSpeaker(v);
    });
    $('flip').addEventListener('click', () => this.flip());
  }

  // start opens the camera and microphone the link asks for (opts), when
  // the pre-join screen did not (a link with prejoin=0, coming in again).
  async start(opts) {
    const c = this.controls;
    if (!opts.audio && !opts.video) return;
    if (!devicesAllowed()) {
      this.notice('This page is not secure (not HTTPS), so the browser gives it no camera or microphone: you can watch and listen.');
      return;
    }
    try {
      c.local = await navigator.mediaDevices.getUserMedia({ audio: opts.audio && constraints('audio'), video: opts.video && constraints('video') });
    } catch (err) {
      this.notice(`Camera or microphone unavailable: ${err.message}`);
      return;
    }
    $('self').srcObject = c.local;
    if (opts.hide) $('self-tile').classList.add('hidden');
  }

  track(kind) {
    return this.controls.local?.getTracks().find((t) => t.kind === kind);
  }

  // fill lists the devices the browser names, the ones in use selected;
  // the speaker only where the browser lets a page choose it, Flip only
  // with more than one camera.
  async fill() {
    let all = [];
    try {
      all = await navigator.mediaDevices.enumerateDevices();
    } catch {
      // No devices to list: the dialog says so by its empty lists.
    }
    const inUse = { camera: this.track('video')?.getSettings().deviceId, microphone: this.track('audio')?.getSettings().deviceId };
    const list = (kind) => all.filter((d) => d.kind === kind && d.deviceId);
    const fill = (what, devices) => {
      const select = $(`device-${what}`);
      const current = inUse[what] || remembered()[what];
      select.replaceChildren(...devices.map((d, i) => {
        const o = document.createElement('option');
        o.value = d.deviceId;
        o.textContent = d.label || `${what[0].toUpperCase()}${what.slice(1)} ${i + 1}`;
        o.selected = d.deviceId === current;
        return o;
      }));
      select.closest('label').hidden = devices.length === 0;
    };
    this.cameras = list('videoinput');
    fill('camera', this.cameras);
    fill('microphone', list('audioinput'));
    fill('speaker', canChooseSpeaker ? list('audiooutput') : []);
    $('flip').hidden = this.cameras.length < 2;
  }

  // flip turns to the camera facing the other way (a phone's front and
  // back); where cameras do not say which way they face, to the next one.
  async flip() {
    const now = this.track('video')?.getSettings() || {};
    if (now.facingMode) {
      const facing = now.facingMode === 'environment' ? 'user' : 'environment';
      if (await this.use('video', { facingMode: { exact: facing } }, { quiet: true })) return;
    }
    const i = this.cameras.findIndex((d) => d.deviceId === (now.deviceId || remembered().camera));
    const next = this.cameras[(i + 1) % this.cameras.length];
    if (next) await this.use('video', { deviceId: { exact: next.deviceId } });
  }

  // use takes the device spec names for kind (audio or video); it reports
  // whether the device is now the one chosen.
  async use(kind, spec, { quiet = false } = {}) {
    if (this.busy) return false;
    this.busy = true;
    try {
      return await this.#use(kind, spec, quiet);
    } finally {
      this.busy = false;
      await this.fill();
    }
  }

  async #use(kind, spec, quiet) {
    const c = this.controls;
    const what = kind === 'video' ? 'camera' : 'microphone';
    const old = this.track(kind);
    const sender = c.senders[kind];
    $('devices-error').hidden = true;
    if (!sender && !old) {
      // Off and let go (off since the pre-join screen): nothing is opened
      // now; the choice is taken when it is turned on.
      if (spec.deviceId) remember(what, spec.deviceId.exact);
      return true;
    }
    const open = async () => (await navigator.mediaDevices.getUserMedia({ [kind]: { ...constraints(kind), deviceId: undefined, ...spec } })).getTracks()[0];
    let track;
    try {
      try {
        track = await open();
      } catch (err) {
        // Many phones open one camera at a time: the old one goes first.
        if (kind !== 'video' || err.name !== 'NotReadableError' || !old) throw err;
        old.stop();
        track = await open();
      }
    } catch (err) {
      if (!quiet) {
        $('devices-error').textContent = `That ${what} could not be opened: ${err.message}`;
        $('devices-error').hidden = false;
      }
      // Back to the one we had, if it was let go.
      if (old?.readyState === 'ended') {
        const back = await navigator.mediaDevices.getUserMedia({ [kind]: constraints(kind) }).catch(() => null);
        track = back?.getTracks()[0];
        if (track) {
          track.enabled = !!sender;
          await this.#swap(kind, old, track, sender);
        }
      }
      return false;
    }
    // Muted or off, the new device stays so: held, not sent, until it is
    // turned on (Controls sends the track it holds).
    if (!sender) track.enabled = false;
    await this.#swap(kind, old, track, sender);
    remember(what, track.getSettings().deviceId);
    this.notice(`Now using ${track.label || `another ${what}`}`);
    return true;
  }

  async #swap(kind, old, track, sender) {
    const c = this.controls;
    await sender?.replaceTrack(track);
    if (old) {
      c.local.removeTrack(old);
      old.stop();
    }
    c.local.addTrack(track);
    if (kind === 'video') $('self').srcObject = c.local;
  }
}
