package mediaserver

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// simulcastSource sends three layers of one picture as a browser does:
// each with its own sequence numbers and timestamp base, a frame every
// 33 ms, keyframes when asked.
type simulcastSource struct {
	t      *fanoutTrack
	seq    [3]uint16
	ts     [3]uint32
	asked  []int
	frames int
	pkt    rtp.Packet
	first  [3][12]byte
	rest   [3][3]byte
}

func newSimulcastSource(t *testing.T) *simulcastSource {
	ft := newFanoutTrack(vp8, "v", "p~s", []string{"q", "h", "f"})
	src := &simulcastSource{t: ft, seq: [3]uint16{100, 30000, 65500}, ts: [3]uint32{5, 1 << 31, 4294960000}}
	ft.askKeyframe = func(l int) { src.asked = append(src.asked, l) }
	return src
}

// frame sends one two-packet frame on every layer; key says which layers'
// frames are keyframes.
func (s *simulcastSource) frame(key ...int) {
	for l := range 3 {
		isKey := false
		for _, k := range key {
			isKey = isKey || k == l
		}
		// The first packet: S=1, PID 0, then P=1 for a delta frame; a
		// keyframe has P=0, the start code and its width.
		s.first[l] = [12]byte{0x10, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(l)}
		if isKey {
			w := 160 << l
			s.first[l] = [12]byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8), 0x20, 0, byte(l)}
		}
		s.rest[l] = [3]byte{0x00, 0xaa, byte(l)}
		for i, payload := range [2][]byte{s.first[l][:], s.rest[l][:]} {
			s.pkt.Header = rtp.Header{Version: 2, SequenceNumber: s.seq[l], Timestamp: s.ts[l], Marker: i == 1}
			s.pkt.Payload = payload
			s.t.writeRTP(l, &s.pkt)
			s.seq[l]++
		}
		s.ts[l] += 3000
	}
	s.frames++
}

func (s *simulcastSource) bind(t *testing.T) *fakeBinding {
	return bindN(t, s.t, 1, true)[0]
}

// continuous checks that a subscriber's packets have consecutive sequence
// numbers and timestamps that never go back.
func continuous(t *testing.T, got []rtp.Header) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, got[i].SequenceNumber, got[i-1].SequenceNumber)
		}
		if d := int32(got[i].Timestamp - got[i-1].Timestamp); d < 0 || d > 90000 {
			t.Fatalf("packet %d: timestamp moved by %d", i, d)
		}
	}
}

func TestSimulcastSubscriberGetsOneLayerAndMovesAtItsKeyframe(t *testing.T) {
	src := newSimulcastSource(t)
	b := src.bind(t)
	sub := src.t.bindings[0]
	if sub.want.Load() != 0 {
		t.Fatalf("a new subscriber wants layer %d, not the lowest", sub.want.Load())
	}
	sub.want.Store(2) // as its allocator would for a large tile

	// A new subscriber waits for a keyframe of its layer (here the top
	// one), asking for it, and then gets that layer only.
	src.frame()
	if len(b.got) != 0 {
		t.Fatalf("got %d packets before any keyframe", len(b.got))
	}
	if len(src.asked) == 0 || src.asked[0] != 2 {
		t.Fatalf("keyframes asked for: %v, want the top layer's", src.asked)
	}
	src.frame(2)
	src.frame()
	if len(b.got) != 4 || b.layers[0] != 2 || b.layers[3] != 2 {
		t.Fatalf("got layers %v, want 4 packets of layer 2", b.layers)
	}
	if w := src.t.layers[2].width.Load(); w != 640 {
		t.Fatalf("top layer's width read from its keyframe: %d", w)
	}

	// Told to move down, it stays on the top layer until the low layer's
	// keyframe, then continues the same numbering with it.
	sub.want.Store(0)
	src.frame(2)
	src.frame()
	if n := len(b.got); n != 8 || b.layers[n-1] != 2 {
		t.Fatalf("before the low layer's keyframe: layers %v", b.layers)
	}
	src.frame(0)
	src.frame()
	if n := len(b.got); n != 12 || b.layers[8] != 0 || b.layers[11] != 0 {
		t.Fatalf("after the low layer's keyframe: layers %v", b.layers)
	}
	continuous(t, b.got)

	// A NACK is answered from the layer the subscriber gets now; a packet
	// of the layer it left at the keyframe is not resent: it decodes
	// nothing from before that keyframe.
	last := b.got[len(b.got)-1].SequenceNumber
	src.t.resend(&rtcp.TransportLayerNack{MediaSSRC: uint32(b.ssrc), Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last - 5, last - 1})}, always, 0)
	if n := len(b.got); n != 13 || b.layers[12] != 0 || b.got[12].SequenceNumber != last-1 || b.got[12].Timestamp != b.got[10].Timestamp {
		t.Fatalf("resent layers %v, headers %+v", b.layers[12:], b.got[12:])
	}

	// Paused, it gets nothing; resumed on the middle layer, it waits for
	// that layer's keyframe and asks for one.
	sub.want.Store(-1)
	src.frame(0, 1, 2)
	if len(b.got) != 13 {
		t.Fatal("a paused subscriber still receives")
	}
	src.asked = nil
	sub.want.Store(1)
	src.frame()
	if len(b.got) != 13 || len(src.asked) == 0 || src.asked[0] != 1 {
		t.Fatalf("resuming: got %d, asked %v", len(b.got), src.asked)
	}
	src.frame(1)
	if n := len(b.got); n != 15 || b.layers[13] != 1 {
		t.Fatalf("resumed on layers %v", b.layers)
	}
	continuous(t, b.got[:12])
	continuous(t, b.got[13:])
	if b.got[13].SequenceNumber != b.got[11].SequenceNumber+1 {
		t.Fatalf("after the pause: %d follows %d", b.got[13].SequenceNumber, b.got[11].SequenceNumber)
	}
}

func TestSimulcastSubscribersAreMovedIndependently(t *testing.T) {
	src := newSimulcastSource(t)
	low, high := src.bind(t), src.bind(t)
	src.t.bindings[1].want.Store(2)
	src.frame(2) // the high one starts; the low one waits for its own
	src.frame(0)
	src.frame()
	for i, l := range low.layers {
		if l != 0 {
			t.Fatalf("the low subscriber's packet %d is from layer %d", i, l)
		}
	}
	for i, l := range high.layers {
		if l != 2 {
			t.Fatalf("the high subscriber's packet %d is from layer %d", i, l)
		}
	}
	if len(low.got) != 4 || len(high.got) != 6 {
		t.Fatalf("got %d and %d packets", len(low.got), len(high.got))
	}
}

func TestSimulcastForwardingAllocatesNothing(t *testing.T) {
	src := newSimulcastSource(t)
	bs := bindN(t, src.t, 20, false)
	for i := range bs {
		src.t.bindings[i].want.Store(int32(i % 3))
	}
	src.frame(0, 1, 2)
	if n := testing.AllocsPerRun(200, func() { src.frame() }); n != 0 {
		t.Fatalf("%v allocations per frame of three layers to 20 subscribers", n)
	}
}

func TestHeaderExtensionsKeepTheirMeaningUnderTheSubscribersIDs(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	ft.exts = publisherExtensions(webrtc.RTPCodecTypeVideo, []webrtc.RTPHeaderExtensionParameter{
		{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: 2},
		{URI: videoOrientationURI, ID: 4},
	})
	with := &fakeBinding{id: "a", ssrc: 1, got: []rtp.Header{}, codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: vp8, PayloadType: 96}},
		exts: []webrtc.RTPHeaderExtensionParameter{{URI: videoOrientationURI, ID: 9}, {URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: 4}}}
	without := &fakeBinding{id: "b", ssrc: 2, got: []rtp.Header{}, codecs: with.codecs}
	for _, b := range []*fakeBinding{with, without} {
		if _, err := ft.Bind(b); err != nil {
			t.Fatal(err)
		}
		ft.bindings[len(ft.bindings)-1].ready.Store(true) // its connection is up
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: []byte{0x10, 0}}
	p.Header.SetExtension(2, []byte{0, 7}) // the publisher's transport-wide number
	p.Header.SetExtension(4, []byte{1})    // rotated by 90°
	ft.writeRTP(0, p)
	h := with.got[0]
	if v := h.GetExtension(9); len(v) != 1 || v[0] != 1 {
		t.Fatalf("orientation under the subscriber's id 9: %v", v)
	}
	if v := h.GetExtension(4); v != nil {
		t.Fatalf("id 4, the subscriber's transport-wide number, carries the publisher's orientation: %v", v)
	}
	if v := h.GetExtension(2); v != nil {
		t.Fatalf("the publisher's transport-wide number was passed on: %v", v)
	}
	if g := without.got[0]; g.Extension || len(g.Extensions) != 0 {
		t.Fatalf("a subscriber that negotiated nothing gets extensions: %+v", g)
	}
}

// A subscriber whose connection does not carry media yet gets nothing, not
// even a keyframe (pion would drop it, and the decoder would wait for the
// next), and asks for none; once it is up it starts at a keyframe.
func TestSubscriberStartsOnlyOnceItsConnectionIsUp(t *testing.T) {
	src := newSimulcastSource(t)
	b := src.bind(t)
	sub := src.t.bindings[0]
	sub.ready.Store(false)
	src.frame(0, 1, 2)
	src.frame()
	if len(b.got) != 0 || len(src.asked) != 0 {
		t.Fatalf("before its connection was up: %d packets, keyframes asked %v", len(b.got), src.asked)
	}
	sub.ready.Store(true)
	src.frame()
	src.frame(0, 1, 2)
	if len(b.got) != 2 || b.layers[0] != 0 || b.got[0].Timestamp != b.got[1].Timestamp {
		t.Fatalf("once up: layers %v, want the low layer's keyframe", b.layers)
	}
}

// A subscriber that receives nothing yet starts with the first keyframe of
// any layer up to the one it wants (a picture now), and moves up at the
// wanted layer's keyframe; never above it.
func TestNewSubscriberStartsOnTheFirstKeyframeUpToItsLayer(t *testing.T) {
	src := newSimulcastSource(t)
	b := src.bind(t)
	sub := src.t.bindings[0]
	sub.want.Store(1)
	src.frame(2) // above what it wants: not taken
	if len(b.got) != 0 {
		t.Fatalf("started on a layer above its own: %v", b.layers)
	}
	src.frame(0)
	src.frame()
	src.frame(1)
	src.frame()
	want := []byte{0, 0, 0, 0, 0, 0, 1, 1, 1, 1} // the frame of the switch: layer 0, then layer 1 from its keyframe
	if len(b.layers) != len(want) {
		t.Fatalf("layers %v; want %v", b.layers, want)
	}
	for i := range want {
		if b.layers[i] != want[i] {
			t.Fatalf("layers %v; want %v", b.layers, want)
		}
	}
	continuous(t, b.got)
}
