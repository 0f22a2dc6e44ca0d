package mediaserver

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fanoutTrack is the local track every subscriber of one published track is
// bound to. Each packet goes to every binding with that binding's SSRC and
// payload type; NACKs are answered from one history shared by all
// subscribers, instead of a copy of every packet per subscriber. Nothing on
// the forwarding path allocates.
type fanoutTrack struct {
	id, streamID string
	codec        webrtc.RTPCodecCapability
	kind         webrtc.RTPCodecType
	history      *history

	mu       sync.RWMutex
	bindings []*binding

	// What was forwarded: one copy per subscriber. Only the forwarding
	// goroutine adds; metrics read.
	sentPackets, sentBytes atomic.Uint64
}

// binding is one subscriber's end of a fanoutTrack.
type binding struct {
	id    string
	ssrc  uint32
	pt    uint8
	write webrtc.TrackLocalWriter

	mu      sync.Mutex // guards the scratch space, used by writes and resends
	header  rtp.Header
	payload []byte
}

func newFanoutTrack(codec webrtc.RTPCodecCapability, id, streamID string) *fanoutTrack {
	kind := webrtc.RTPCodecTypeAudio
	if strings.HasPrefix(strings.ToLower(codec.MimeType), "video/") {
		kind = webrtc.RTPCodecTypeVideo
	}
	return &fanoutTrack{id: id, streamID: streamID, codec: codec, kind: kind, history: newHistory()}
}

func (t *fanoutTrack) ID() string                { return t.id }
func (t *fanoutTrack) RID() string               { return "" }
func (t *fanoutTrack) StreamID() string          { return t.streamID }
func (t *fanoutTrack) Kind() webrtc.RTPCodecType { return t.kind }

var errNoCodec = errors.New("the subscriber accepts no codec of this track")

// Bind picks the subscriber's parameters for the track's codec.
func (t *fanoutTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(t.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, errNoCodec
	}
	b := &binding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), pt: uint8(codec.PayloadType), write: ctx.WriteStream(),
		payload: make([]byte, 0, 1500)}
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

// writeRTP keeps p for retransmission and sends it to every subscriber.
func (t *fanoutTrack) writeRTP(p *rtp.Packet) {
	t.history.add(p)
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.bindings {
		b.mu.Lock()
		b.header = p.Header
		b.header.SSRC, b.header.PayloadType = b.ssrc, b.pt
		// A subscriber that cannot take the packet loses only its own copy.
		b.write.WriteRTP(&b.header, p.Payload)
		b.mu.Unlock()
	}
	n := uint64(len(t.bindings))
	t.sentPackets.Add(n)
	t.sentBytes.Add(n * uint64(len(p.Payload)))
}

// resend answers one subscriber's NACK from the history.
func (t *fanoutTrack) resend(nack *rtcp.TransportLayerNack) {
	t.mu.RLock()
	var b *binding
	for _, x := range t.bindings {
		if x.ssrc == nack.MediaSSRC {
			b = x
			break
		}
	}
	t.mu.RUnlock()
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			var ok bool
			if b.payload, ok = t.history.get(seq, &b.header, b.payload); ok {
				b.header.SSRC, b.header.PayloadType = b.ssrc, b.pt
				b.write.WriteRTP(&b.header, b.payload)
			}
			return true
		})
	}
}

var _ webrtc.TrackLocal = (*fanoutTrack)(nil)
