// The pre-join screen (docs/browser.md, "Before joining"): see yourself,
// watch your microphone move a meter, choose camera, microphone and
// speaker (remembered in this browser), your name, and whether to come in
// with the camera or the microphone off. A person whose browser gives no
// devices (access denied, none plugged in, or a page that is not secure)
// is told why and how to change it, and joins to watch and listen.

const $ = (id) => document.getElementById(id);
const storeKey = 'roomgate.devices';
const kinds = { audio: 'microphone', video: 'camera' };

// remembered is {camera, microphone, speaker}: the device ids last chosen.
export function remembered() {
  try {
    return JSON.parse(localStorage.getItem(storeKey)) || {};
  } catch {
    return {};
  }
}

export function remember(what, id) {
  localStorage.setItem(storeKey, JSON.stringify({ ...remembered(), [what]: id }));
}

// constraints asks for the remembered device of kind (audio or video), the
// camera at 720p so that its three layers are 320, 640 and 1280 wide.
export function constraints(kind, exact = '') {
  const id = exact || remembered()[kinds[kind]];
  const c = kind === 'video' ? { width: { ideal: 1280 }, height: { ideal: 720 } } : {};
  if (id) c.deviceId = exact ? { exact: id } : { ideal: id };
  return Object.keys(c).length ? c : true;
}

// devicesAllowed: browsers give cameras and microphones only to secure
// pages (HTTPS, or localhost).
export const devicesAllowed = () => window.isSecureContext && !!navigator.mediaDevices?.getUserMedia;

// playOnSpeaker sends an element's sound to the remembered speaker, where
// the browser lets a page choose.
export function playOnSpeaker(el) {
  const id = remembered().speaker;
  if (id && el.setSinkId) el.setSinkId(id).catch(() => {});
}

// Why there is no camera or microphone, for people.
export const help = {
  insecure: 'This page is not secure (it is not HTTPS), so your browser gives it no camera or microphone. You can join to watch and listen. '
    + 'To take part with camera and microphone, open the meeting at its https:// address, or on this computer at http://localhost. '
    + 'Whoever runs the server: set ROOMGATE_SITE to this machine\'s name (on a local network, add "tls internal" to the site).',
  denied: 'Your browser did not let this page use the camera or microphone. You can join to watch and listen. '
    + 'To allow them later: click the camera icon or the lock in the address bar, allow camera and microphone, and press Mic or Cam in the call.',
  missing: 'No camera or microphone was found. You can join to watch and listen, and turn them on in the call once one is plugged in.',
};

async function getDevices(spec) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(spec) };
  } catch (err) {
    return { err };
  }
}

// open asks for camera and microphone together (one permission prompt);
// when one of them is missing, for each alone.
async function open() {
  let { stream, err } = await getDevices({ audio: constraints('audio'), video: constraints('video') });
  if (stream) return { stream };
  if (err.name === 'NotAllowedError' || err.name === 'SecurityError') return { why: 'denied' };
  const parts = await Promise.all(['audio', 'video'].map((k) => getDevices({ [k]: constraints(k) })));
  const tracks = parts.flatMap((p) => p.stream?.getTracks() || []);
  if (!tracks.length) return { why: parts.some((p) => p.err?.name === 'NotAllowedError') ? 'denied' : 'missing' };
  return { stream: new MediaStream(tracks) };
}

// prejoin shows the screen and resolves, when Join is pressed, with what
// to join with: {stream (or null), audio, video, name}.
export async function prejoin({ name }) {
  const screen = $('prejoin');
  screen.hidden = false;
  $('prejoin-name').value = name;
  const state = { audio: true, video: true };
  let stream = null;
  let meter = null;

  if (!devicesAllowed()) {
    showHelp('insecure');
  } else {
    const got = await open();
    stream = got.stream || null;
    if (got.why) showHelp(got.why);
  }
  const track = (kind) => stream?.getTracks().find((t) => t.kind === kind);
  const preview = $('preview');
  preview.srcObject = stream;
  meter = stream && track('audio') ? levelMeter(stream) : null;
  $('prejoin-meter').hidden = !meter;
  await fillDevices();

  // A device chosen replaces the one in the preview, and is remembered.
  for (const [kind, what] of Object.entries(kinds)) {
    $(`prejoin-${what}`).onchange = async (e) => {
      const id = e.target.value;
      remember(what, id);
      const got = await getDevices({ [kind]: constraints(kind, id) });
      if (!got.stream) return;
      const old = track(kind);
      if (old) {
        stream.removeTrack(old);
        old.stop();
      }
      stream ||= new MediaStream();
      const t = got.stream.getTracks()[0];
      t.enabled = state[kind];
      stream.addTrack(t);
      preview.srcObject = stream;
      if (kind === 'audio') {
        meter?.stop();
        meter = levelMeter(stream);
        $('prejoin-meter').hidden = !meter;
      }
    };
  }
  $('prejoin-speaker').onchange = (e) => {
    remember('speaker', e.target.value);
    playOnSpeaker(preview);
  };

  // The two toggles: off sends nothing from the start of the call.
  const toggles = { audio: $('prejoin-mic'), video: $('prejoin-cam') };
  const render = () => {
    for (const kind of ['audio', 'video']) {
      const b = toggles[kind];
      const usable = !!track(kind);
      b.disabled = !usable;
      b.setAttribute('aria-pressed', String(!usable || !state[kind]));
      const t = track(kind);
      if (t) t.enabled = state[kind];
    }
    $('prejoin-avatar').hidden = !!track('video') && state.video;
  };
  for (const kind of ['audio', 'video']) {
    toggles[kind].onclick = () => {
      state[kind] = !state[kind];
      render();
    };
  }
  render();
  // Browsers start sound only after the person does something on the page.
  screen.addEventListener('pointerdown', () => meter?.resume(), { once: true });
  screen.addEventListener('keydown', () => meter?.resume(), { once: true });
  $('prejoin-join').focus();

  await new Promise((resolve) => {
    $('prejoin-form').onsubmit = (e) => {
      e.preventDefault();
      resolve();
    };
  });
  meter?.stop();
  screen.hidden = true;
  preview.srcObject = null;
  // A device that is off is let go (its light goes out); the call asks
  // for it again when it is turned on.
  for (const kind of ['audio', 'video']) {
    const t = track(kind);
    if (t && !state[kind]) {
      stream.removeTrack(t);
      t.stop();
    }
  }
  const chosen = $('prejoin-name').value.trim().slice(0, 64);
  return {
    stream: stream?.getTracks().length ? stream : null,
    audio: state.audio && !!track('audio'),
    video: state.video && !!track('video'),
    name: chosen,
  };

  function showHelp(why) {
    $('prejoin-help').textContent = help[why];
    $('prejoin-help').hidden = false;
    screen.dataset.devices = why;
  }

  // fillDevices lists the devices the browser names (it names them only
  // once access was given), the one in use selected.
  async function fillDevices() {
    const all = stream ? await navigator.mediaDevices.enumerateDevices() : [];
    const fill = (select, kind, inUse) => {
      const list = all.filter((d) => d.kind === kind && d.deviceId);
      // The remembered choice was asked for, so it is in use when listed
      // (it may be "default", which is no device's own id).
      const current = list.some((d) => d.deviceId === remembered()[select.dataset.what.toLowerCase()])
        ? remembered()[select.dataset.what.toLowerCase()] : inUse;
      select.replaceChildren(...list.map((d, i) => {
        const o = document.createElement('option');
        o.value = d.deviceId;
        o.textContent = d.label || `${select.dataset.what} ${i + 1}`;
        o.selected = d.deviceId === current;
        return o;
      }));
      select.closest('label').hidden = list.length === 0;
    };
    fill($('prejoin-camera'), 'videoinput', track('video')?.getSettings().deviceId);
    fill($('prejoin-microphone'), 'audioinput', track('audio')?.getSettings().deviceId);
    const canChoose = 'setSinkId' in HTMLMediaElement.prototype;
    fill($('prejoin-speaker'), canChoose ? 'audiooutput' : '', remembered().speaker);
  }
}

// levelMeter shows how loud the microphone is on <meter id=prejoin-level>.
function levelMeter(stream) {
  const el = $('prejoin-level');
  let ctx;
  try {
    ctx = new AudioContext();
  } catch {
    return null;
  }
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  const tick = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    // RMS to a 0-1 scale that moves for speech: -60 dBFS is 0, 0 dBFS is 1.
    const db = 10 * Math.log10(sum / samples.length || 1e-12);
    el.value = Math.max(0, Math.min(1, (db + 60) / 60));
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
  return {
    resume: () => ctx.resume(),
    stop: () => {
      cancelAnimationFrame(frame);
      ctx.close();
    },
  };
}
