// Signalling with roomgate's media server: one WebSocket, two peer
// connections (pub: we offer and publish; sub: the server offers and we
// receive). See docs/signalling.md.

// The camera goes out in three layers, lowest first (docs/signalling.md,
// "Simulcast"): the server sends each subscriber the one its tile and its
// link suit.
export const cameraLayers = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
];

export class Signal extends EventTarget {
  constructor({ room, name, token, signalPath, iceServers = [] }) {
    super();
    Object.assign(this, { room, name, token, signalPath, iceServers });
    this.pub = null;
    this.sub = null;
    this.ws = null;
    this.welcomed = false;
    this.screens = new Set(); // ids of our streams that are screen shares
    this.rejoin = null; // a rejoin pass from an earlier connection, to offer
    this.pass = null;   // the latest rejoin pass the server gave this one
    this.ownerPass = ''; // the start page's owner pass for this room, if any
  }

  // check asks the gateway, without joining, whether we may enter.
  async check() {
    const headers = this.token ? { Authorization: `Bearer ${this.token}` } : {};
    const res = await fetch(this.#url('http'), { headers, cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    return { ok: res.ok, status: res.status, code: body.error, message: body.message, role: body.role, usesLeft: body.usesLeft, then: body.then, early: !!body.early };
  }

  #url(scheme) {
    const u = new URL(this.signalPath, location.href);
    if (scheme === 'ws') u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    u.search = new URLSearchParams({ room: this.room, name: this.name }).toString();
    return u.toString();
  }

  // join opens the WebSocket; the token travels in the subprotocol list,
  // never in the URL.
  join() {
    const protocols = ['roomgate'];
    if (this.token) protocols.push(`roomgate.token.${this.token}`);
    // Coming back: the pass lets us through a lock set while we were in.
    if (this.rejoin) protocols.push(`roomgate.rejoin.${this.rejoin}`);
    // The room this tab started: it stays ours if someone raced in first.
    if (this.ownerPass) protocols.push(`roomgate.owner.${this.ownerPass}`);
    this.ws = new WebSocket(this.#url('ws'), protocols);
    this.ws.onmessage = (e) => this.#onMessage(JSON.parse(e.data));
    this.ws.onclose = (e) => this.#emit('closed', { code: e.code, reason: e.reason, welcomed: this.welcomed });
  }

  send(msg) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  #emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  #setup() {
    const config = { iceServers: this.iceServers };
    if (this.forceRelay) config.iceTransportPolicy = 'relay';
    this.pub = new RTCPeerConnection(config);
    this.sub = new RTCPeerConnection(config);
    this.pub.onicecandidate = (e) => e.candidate && this.send({ type: 'candidate', pc: 'pub', candidate: e.candidate.toJSON() });
    this.sub.onicecandidate = (e) => e.candidate && this.send({ type: 'candidate', pc: 'sub', candidate: e.candidate.toJSON() });
    this.pub.onnegotiationneeded = () => this.#offer();
    this.sub.ontrack = (e) => this.#emit('track', { track: e.track, stream: e.streams[0] });
  }

  async #offer() {
    try {
      await this.pub.setLocalDescription();
      // The server tells the others which of our streams are screen shares.
      const screens = this.screens.size ? [...this.screens] : undefined;
      this.send({ type: 'offer', pc: 'pub', sdp: this.pub.localDescription.sdp, screens });
    } catch (err) {
      this.#emit('problem', { message: `could not offer: ${err.message}` });
    }
  }

  async #onMessage(m) {
    switch (m.type) {
      case 'welcome':
        this.welcomed = true;
        // In the lobby there is nothing to negotiate until an admin lets us in.
        if (m.peer?.role === 'lobby') {
          this.#emit('waiting', m);
          break;
        }
        if (m.iceServers) this.iceServers = m.iceServers;
        if (m.token) this.pass = m.token;
        this.#setup();
        this.#emit('welcome', m);
        break;
      case 'offer':
        await this.sub.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        await this.sub.setLocalDescription();
        this.send({ type: 'answer', pc: 'sub', sdp: this.sub.localDescription.sdp });
        break;
      case 'answer':
        await this.pub.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        break;
      case 'pass':
        this.pass = m.token;
        break;
      case 'peer-joined': case 'peer-left': case 'room': case 'bye': case 'error': case 'lobby': case 'speaker':
      case 'quality': case 'state': case 'mute': case 'chat': case 'connection': case 'role':
        this.#emit(m.type, m);
        break;
    }
  }

  // publish sends a stream's tracks; it returns the senders.
  publish(stream, { screen = false } = {}) {
    if (screen) this.screens.add(stream.id);
    return stream.getTracks().map((t) => this.pub.addTrack(t, stream));
  }

  // sendCamera sends a camera track in its simulcast layers; it returns
  // the sender.
  sendCamera(track, stream) {
    return this.pub.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: cameraLayers }).sender;
  }

  // state tells the room what we send and show of ourselves.
  state(s) { this.send({ type: 'state', ...s }); }

  // view tells the server how large each received video is shown, in
  // device pixels (0 by 0: not shown), so it sends a layer that size.
  view(views) { this.send({ type: 'view', views }); }

  // unpublishScreen stops sending a screen share.
  unpublishScreen(stream, senders) {
    senders.forEach((s) => this.pub.removeTrack(s));
    this.screens.delete(stream.id);
  }

  // Admin actions; the server refuses them from anyone else.
  admit(peer) { this.send({ type: 'admit', target: peer }); }
  deny(peer) { this.send({ type: 'deny', target: peer }); }
  // kick removes peer; with ban (an object, {} for this room and as long as
  // the server allows), it keeps them out too (docs/signalling.md).
  kick(peer, ban) { this.send(ban ? { type: 'kick', target: peer, ban } : { type: 'kick', target: peer }); }
  mute(peer) { this.send({ type: 'mute', target: peer }); }
  chat(text) { this.send({ type: 'chat', text }); }
  lock(locked) { this.send({ type: 'lock', locked }); }
  end() { this.send({ type: 'end' }); }

  close() {
    this.ws?.close(1000, 'leaving');
    this.pub?.close();
    this.sub?.close();
  }
}

// peerOfStream reads the publisher's peer id from a received stream's id.
export function peerOfStream(id) {
  const i = id.indexOf('~');
  return i < 0 ? id : id.slice(0, i);
}

// isScreenStream says whether a received stream is a screen share: the
// server marks it "<peer>~screen~<stream>" when its publisher said so.
export function isScreenStream(id) {
  const parts = id.split('~');
  return parts.length >= 3 && parts[1] === 'screen';
}
