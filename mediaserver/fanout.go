package mediaserver

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fanoutTrack is the local track every subscriber of one published track is
// bound to. A track published in simulcast has several layers (encodings
// of one picture at different sizes, lowest first); each subscriber gets
// one of them, the one its allocator wants (allocate.go), and is moved to
// another only at a keyframe of that layer, its sequence numbers and
// timestamps carried on so its decoder sees one unbroken stream. Each packet
// goes out with the subscriber's SSRC, payload type and header extension
// ids. NACKs are answered from one history per layer, shared by all
// subscribers. Nothing on the forwarding path allocates.
type fanoutTrack struct {
	id, streamID string
	codec        webrtc.RTPCodecCapability
	kind         webrtc.RTPCodecType
	layers       []*layer
	keyframe     func(payload []byte) bool
	// width reads a keyframe's width, for the codecs that say it (VP8).
	width func(payload []byte) int
	// exts are the publisher's header extensions passed on (extensions.go).
	exts []keptExtension
	// askKeyframe asks the publisher for a keyframe of a layer; it is
	// rate-limited by the caller. Nil in unit tests.
	askKeyframe func(layer int)

	mu       sync.RWMutex
	bindings []*binding

	// What was forwarded: one copy per subscriber. Only the forwarding
	// goroutines add; metrics read.
	sentPackets, sentBytes atomic.Uint64
}

// binding is one subscriber's end of a fanoutTrack.
type binding struct {
	id    string
	ssrc  uint32
	pt    uint8
	write webrtc.TrackLocalWriter
	// extIDs are the subscriber's ids for the track's exts (0: not
	// negotiated, dropped).
	extIDs [maxKeptExtensions]uint8

	// want is the layer the allocator chose, -1 for none (paused); cur is
	// the layer forwarded now, -1 for none. cur changes under mu only; both
	// are read without it to pass over other layers' packets cheaply.
	want, cur atomic.Int32
	// ready is set once the subscriber's connection carries media (its
	// SRTP keys are made): until then nothing is forwarded, as pion drops
	// what is written before, and a keyframe dropped so would leave the
	// subscriber's decoder waiting for the next.
	ready atomic.Bool

	mu      sync.Mutex // guards what follows; used by writes and resends
	started bool
	lastSeq uint16 // of the newest packet sent, in the subscriber's numbering
	lastTS  uint32
	lastAt  int64 // when it was sent (Unix ns)
	// frameEnded says the newest packet sent ended a frame: padding may
	// follow it.
	frameEnded bool
	// segs are the last layer switches and runs of padding, newest at
	// segs[seg]: how the subscriber's sequence numbers map to a layer's,
	// for NACKs.
	segs      [32]segment
	seg       int
	header    rtp.Header
	extBuf    []rtp.Extension
	payload   []byte
	kept      keptCopy   // a resent packet's kept extensions
	padHeader rtp.Header // reused for padding
	// rtx is the subscriber's retransmission stream (rtx.go); its ssrc is
	// 0 when the subscriber accepted none.
	rtx rtxStream
	// layers are the track's, whose histories retransmissions and padding
	// resend from.
	layers []*layer
}

// segment is a run of packets from one layer: from the subscriber's
// sequence number start, which was the layer's srcStart, the subscriber's
// numbers are the layer's plus seqOff, and timestamps plus tsOff. A run of
// padding has layer -1.
type segment struct {
	valid           bool
	layer           int
	start, srcStart uint16
	seqOff          uint16
	tsOff           uint32
}

func newFanoutTrack(codec webrtc.RTPCodecCapability, id, streamID string, rids []string) *fanoutTrack {
	kind := webrtc.RTPCodecTypeAudio
	if strings.HasPrefix(strings.ToLower(codec.MimeType), "video/") {
		kind = webrtc.RTPCodecTypeVideo
	}
	if len(rids) == 0 {
		rids = []string{""}
	}
	t := &fanoutTrack{id: id, streamID: streamID, codec: codec, kind: kind, keyframe: keyframeStart(codec.MimeType)}
	if strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8) {
		t.width = vp8Width
	}
	for _, rid := range rids {
		t.layers = append(t.layers, newLayer(rid))
	}
	return t
}

func (t *fanoutTrack) ID() string                { return t.id }
func (t *fanoutTrack) RID() string               { return "" }
func (t *fanoutTrack) StreamID() string          { return t.streamID }
func (t *fanoutTrack) Kind() webrtc.RTPCodecType { return t.kind }

// simulcast says whether the track has more than one layer.
func (t *fanoutTrack) simulcast() bool { return len(t.layers) > 1 }

var errNoCodec = errors.New("the subscriber accepts no codec of this track")

// Bind picks the subscriber's parameters for the track's codec. A new
// subscriber starts on the lowest layer, whose keyframe is the smallest and
// comes soonest (the first frame shows sooner); its allocator moves it to
// the layer its tile needs within a round.
func (t *fanoutTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(t.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, errNoCodec
	}
	b := &binding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), pt: uint8(codec.PayloadType), write: ctx.WriteStream(),
		payload: make([]byte, 0, 1500), extBuf: make([]rtp.Extension, 0, maxKeptExtensions+2), layers: t.layers}
	b.rtx = newRTXStream(ctx, codec.PayloadType)
	b.extIDs = subscriberExtensionIDs(t.exts, ctx.HeaderExtensions())
	b.cur.Store(-1)
	b.want.Store(0)
	t.mu.Lock()
	t.bindings = append(t.bindings, b)
	t.mu.Unlock()
	return codec, nil
}

// Unbind forgets a subscriber.
func (t *fanoutTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bindings = slices.DeleteFunc(t.bindings, func(b *binding) bool { return b.id == ctx.ID() })
	return nil
}

// binding finds a subscriber's end by the SSRC the subscriber knows.
func (t *fanoutTrack) binding(ssrc uint32) *binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.bindings {
		if b.ssrc == ssrc {
			return b
		}
	}
	return nil
}

// matchCodec finds the subscriber's payload type for a codec: the same MIME
// type and format parameters, or failing those the same MIME type.
func matchCodec(c webrtc.RTPCodecCapability, offered []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	var fallback *webrtc.RTPCodecParameters
	for i, o := range offered {
		if !strings.EqualFold(o.MimeType, c.MimeType) {
			continue
		}
		if o.SDPFmtpLine == c.SDPFmtpLine {
			return o, true
		}
		if fallback == nil {
			fallback = &offered[i]
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// writeRTP keeps p, a packet of layer li, for retransmission and sends it
// to every subscriber that receives that layer or waits to move to it.
func (t *fanoutTrack) writeRTP(li int, p *rtp.Packet) {
	now := time.Now().UnixNano()
	l := t.layers[li]
	kept := keptPayloadsOf(t.exts, &p.Header)
	if !l.history.add(p, &kept) {
		// A copy already forwarded: subscribers got it, and it is no
		// part of what the layer costs them.
		return
	}
	l.received(p.MarshalSize(), now)
	key := t.kind == webrtc.RTPCodecTypeAudio || t.keyframe(p.Payload)
	if key && t.width != nil {
		if w := t.width(p.Payload); w > 0 {
			l.width.Store(int32(w))
		}
	}
	t.mu.RLock()
	n := 0
	for _, b := range t.bindings {
		if t.forward(b, li, p, &kept, key, now) {
			n++
		}
	}
	t.mu.RUnlock()
	t.sentPackets.Add(uint64(n))
	t.sentBytes.Add(uint64(n * len(p.Payload)))
}

// forward sends p to one subscriber if it is theirs: from the layer they
// receive, or the first packet of a keyframe of the layer they are to move
// to. A subscriber that receives nothing of the track (new, or resuming)
// starts with the first keyframe of any layer up to the one it wants, and
// moves up at that one's keyframe as usual: a picture now rather than a
// better one later. A single-layer track needs no keyframe to start or
// resume: it asks for one instead, as the subscriber's decoder would. kept
// are p's kept extensions' payloads.
func (t *fanoutTrack) forward(b *binding, li int, p *rtp.Packet, kept *keptPayloads, key bool, now int64) bool {
	cur, want := int(b.cur.Load()), int(b.want.Load())
	if cur != li && want != li && (cur >= 0 || !key || li > want) || !b.ready.Load() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, want = int(b.cur.Load()), int(b.want.Load())
	if want < 0 {
		b.cur.Store(-1)
		return false
	}
	if cur != li {
		if want != li && (cur >= 0 || !key || li > want) {
			return false
		}
		if !key && t.simulcast() {
			t.ask(li)
			return false
		}
		if !key {
			t.ask(li)
		}
		b.switchTo(li, p, now, t.codec.ClockRate)
	}
	s := &b.segs[b.seg]
	if int16(p.SequenceNumber-s.srcStart) < 0 {
		return false // older than the switch: it belongs to no run of this subscriber's
	}
	b.header = p.Header
	b.header.SequenceNumber += s.seqOff
	b.header.Timestamp += s.tsOff
	b.header.SSRC, b.header.PayloadType = b.ssrc, b.pt
	b.setExtensions(kept)
	// A subscriber that cannot take the packet loses only its own copy.
	b.write.WriteRTP(&b.header, p.Payload)
	if !b.started || int16(b.header.SequenceNumber-b.lastSeq) > 0 {
		b.lastSeq, b.lastTS, b.frameEnded = b.header.SequenceNumber, b.header.Timestamp, p.Marker
	}
	b.started, b.lastAt = true, now
	return true
}

func (t *fanoutTrack) ask(li int) {
	if t.askKeyframe != nil {
		t.askKeyframe(li)
	}
}

// switchTo starts a run of layer li at p: the first packet the subscriber
// ever gets keeps its numbers; later runs continue where the last left off,
// the timestamp advanced by the time that passed.
func (b *binding) switchTo(li int, p *rtp.Packet, now int64, clockRate uint32) {
	var seqOff uint16
	var tsOff uint32
	if b.started {
		seqOff = b.lastSeq + 1 - p.SequenceNumber
		gap := uint32(1)
		if d := now - b.lastAt; d > 0 {
			gap = max(1, uint32(uint64(d)*uint64(clockRate)/uint64(time.Second)))
		}
		tsOff = b.lastTS + gap - p.Timestamp
	}
	b.pushSegment(segment{valid: true, layer: li, start: p.SequenceNumber + seqOff, srcStart: p.SequenceNumber,
		seqOff: seqOff, tsOff: tsOff})
	b.cur.Store(int32(li))
}

func (b *binding) pushSegment(s segment) {
	b.seg = (b.seg + 1) % len(b.segs)
	b.segs[b.seg] = s
}

// segmentOf finds the run a sequence number of the subscriber's was in.
func (b *binding) segmentOf(seq uint16) *segment {
	for i := range len(b.segs) {
		s := &b.segs[(b.seg-i+len(b.segs))%len(b.segs)]
		if !s.valid {
			return nil
		}
		if int16(seq-s.start) >= 0 {
			return s
		}
	}
	return nil
}

// resend answers one subscriber's NACK from the history of the layer each
// lost packet came from, each packet as allow (the subscriber's budget for
// retransmissions) lets it, with the kept header extensions it was
// forwarded with: on the subscriber's retransmission stream (RFC 4588)
// when it accepted one, as browsers send theirs, maxResends times at most
// (rtx.go) and not again within gap (the subscriber's round trip, ns),
// or else again on the video's own.
func (t *fanoutTrack) resend(nack *rtcp.TransportLayerNack, allow func(bytes int) bool, gap int64) {
	b := t.binding(nack.MediaSSRC)
	if b == nil {
		return
	}
	now := time.Now().UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			if b.rtx.ssrc == 0 {
				if b.load(seq) && allow(len(b.payload)) {
					b.write.WriteRTP(&b.header, b.payload)
				}
				return true
			}
			if n := b.rtx.resends(seq, now); n.n < maxResends && now-n.last >= gap && b.load(seq) && allow(len(b.payload)) {
				n.n, n.last = n.n+1, now
				b.writeRTX()
			}
			return true
		})
	}
}

// load puts the packet the subscriber knows by seq in b.header and
// b.payload, from its layer's history, as it was forwarded to the
// subscriber; false when it was padding, is no longer kept, or is of a
// layer the subscriber has left since. (It left it at a keyframe of the
// one it gets now, and decodes nothing from before that: behind a link
// that narrowed, a pion subscriber had the top layer's losses resent
// for 2.5 s after its move down, into the link that could not carry it.)
// b.mu is held.
func (b *binding) load(seq uint16) bool {
	s := b.segmentOf(seq)
	if s == nil || s.layer < 0 || s.layer != int(b.cur.Load()) || int16(seq-b.lastSeq) > 0 {
		return false
	}
	var ok bool
	if b.payload, ok = b.layers[s.layer].history.get(seq-s.seqOff, &b.header, b.payload, &b.kept); !ok {
		return false
	}
	b.header.SequenceNumber = seq
	b.header.Timestamp += s.tsOff
	b.header.SSRC, b.header.PayloadType = b.ssrc, b.pt
	kept := b.kept.payloads()
	b.setExtensions(&kept)
	return true
}

// keyframeFor says which layer a subscriber's keyframe request is about:
// the one it receives, or the one it waits for.
func (t *fanoutTrack) keyframeFor(ssrc uint32) int {
	b := t.binding(ssrc)
	if b == nil {
		return -1
	}
	if cur := int(b.cur.Load()); cur >= 0 {
		return cur
	}
	return int(b.want.Load())
}

var _ webrtc.TrackLocal = (*fanoutTrack)(nil)
