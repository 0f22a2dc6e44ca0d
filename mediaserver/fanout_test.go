package mediaserver

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeBinding is one subscriber's end as pion would hand it to Bind.
type fakeBinding struct {
	id     string
	ssrc   webrtc.SSRC
	codecs []webrtc.RTPCodecParameters
	exts   []webrtc.RTPHeaderExtensionParameter
	got    []rtp.Header
	// rtx is the retransmission SSRC pion allocated (0: none).
	rtx webrtc.SSRC
	// payloads has each packet's payload, when recorded.
	payloads [][]byte
	// layers has, for each packet got, its payload's last byte (which
	// layer the simulcast tests sent it on).
	layers []byte
}

func (f *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters           { return f.codecs }
func (f *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return f.exts }
func (f *fakeBinding) SSRC() webrtc.SSRC                                      { return f.ssrc }
func (f *fakeBinding) SSRCRetransmission() webrtc.SSRC                        { return f.rtx }
func (f *fakeBinding) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (f *fakeBinding) WriteStream() webrtc.TrackLocalWriter                   { return f }
func (f *fakeBinding) ID() string                                             { return f.id }
func (f *fakeBinding) RTCPReader() interceptor.RTCPReader                     { return nil }
func (f *fakeBinding) Write(b []byte) (int, error)                            { return len(b), nil }
func (f *fakeBinding) WriteRTP(h *rtp.Header, p []byte) (int, error) {
	if f.got != nil {
		h := h.Clone() // its extensions point into the binding's buffers
		f.got = append(f.got, h)
		f.payloads = append(f.payloads, append([]byte(nil), p...))
		mark := byte(padded) // padding carries no payload
		if len(p) > 0 {
			mark = p[len(p)-1]
		}
		f.layers = append(f.layers, mark)
	}
	return len(p), nil
}

// padded marks padding among a fakeBinding's layers.
const padded = 0xff

func always(int) bool { return true }

var vp8 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}

func bindN(t testing.TB, ft *fanoutTrack, n int, record bool) []*fakeBinding {
	var out []*fakeBinding
	for i := range n {
		b := &fakeBinding{id: fmt.Sprint(i), ssrc: webrtc.SSRC(1000 + i),
			codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/VP8", ClockRate: 90000}, PayloadType: webrtc.PayloadType(96 + i%4)}}}
		if record {
			b.got = []rtp.Header{}
		}
		if _, err := ft.Bind(b); err != nil {
			t.Fatal(err)
		}
		ft.bindings[len(ft.bindings)-1].ready.Store(true) // its connection is up
		out = append(out, b)
	}
	return out
}

func TestFanoutSendsEachSubscriberItsOwnSSRCAndPayloadType(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	bs := bindN(t, ft, 3, true)
	ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{SequenceNumber: 7, SSRC: 1, PayloadType: 111}, Payload: []byte{1}})
	for i, b := range bs {
		if len(b.got) != 1 || b.got[0].SSRC != uint32(b.ssrc) || b.got[0].PayloadType != uint8(96+i) || b.got[0].SequenceNumber != 7 {
			t.Fatalf("binding %d got %+v", i, b.got)
		}
	}
	// A NACK from one subscriber is answered to that subscriber only.
	ft.resend(&rtcp.TransportLayerNack{MediaSSRC: uint32(bs[1].ssrc), Nacks: []rtcp.NackPair{{PacketID: 7}}}, always, 0)
	if len(bs[0].got) != 1 || len(bs[1].got) != 2 || len(bs[2].got) != 1 || bs[1].got[1].SequenceNumber != 7 {
		t.Fatalf("after a NACK: %d %d %d", len(bs[0].got), len(bs[1].got), len(bs[2].got))
	}
	ft.Unbind(bs[1])
	ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{SequenceNumber: 8}, Payload: []byte{1}})
	if len(bs[1].got) != 2 || len(bs[0].got) != 2 {
		t.Fatal("an unbound subscriber still receives, or a bound one does not")
	}
	if _, err := ft.Bind(&fakeBinding{id: "x", codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/H264"}}}}); err == nil {
		t.Fatal("bound to a subscriber without the codec")
	}
}

// A packet that comes twice (repaired twice, as the server asks for a lost
// one twice; or a browser's probe made of old packets) reaches each
// subscriber once, and counts once in what its layer costs.
func TestFanoutForwardsAPacketThatComesTwiceOnce(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	b := bindN(t, ft, 1, true)[0]
	for _, seq := range []uint16{7, 8, 7, 9, 8} {
		ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, SSRC: 1, Timestamp: 90 * uint32(seq)}, Payload: make([]byte, 100)})
	}
	var got []uint16
	for _, h := range b.got {
		got = append(got, h.SequenceNumber)
	}
	if !slices.Equal(got, []uint16{7, 8, 9}) {
		t.Fatalf("the subscriber got %v, want 7 8 9", got)
	}
	// The same number from a new stream of the publisher's is a new packet.
	ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{SequenceNumber: 9, SSRC: 2, Timestamp: 5}, Payload: make([]byte, 100)})
	if len(b.got) != 4 {
		t.Fatalf("a packet of another stream with a number seen before was dropped: %d packets", len(b.got))
	}
}

func TestFanoutWriteAndResendAllocateNothing(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	bs := bindN(t, ft, 20, false)
	p := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 1000)}
	nack := &rtcp.TransportLayerNack{MediaSSRC: uint32(bs[3].ssrc), Nacks: []rtcp.NackPair{{}}}
	if n := testing.AllocsPerRun(1000, func() {
		p.SequenceNumber++
		ft.writeRTP(0, p)
		nack.Nacks[0].PacketID = p.SequenceNumber
		ft.resend(nack, always, 0)
	}); n != 0 {
		t.Fatalf("%v allocations per packet to 20 subscribers", n)
	}
}

func BenchmarkFanoutWrite20(b *testing.B) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	bindN(b, ft, 20, false)
	p := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 1000)}
	b.ReportAllocs()
	for b.Loop() {
		p.SequenceNumber++
		ft.writeRTP(0, p)
	}
}

func TestResendsStayWithinTheSubscribersBudget(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	b := bindN(t, ft, 1, true)[0]
	for seq := range uint16(10) {
		ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq}, Payload: make([]byte, 1000)})
	}
	budget := 3500
	ft.resend(&rtcp.TransportLayerNack{MediaSSRC: uint32(b.ssrc), Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{1, 2, 3, 4, 5})},
		func(n int) bool { budget -= n; return budget >= 0 }, 0)
	if got := len(b.got) - 10; got != 3 {
		t.Fatalf("%d packets resent within a budget of three", got)
	}
}
