package mediaserver

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rtxCodecs are VP8 and its RTX as a subscriber accepts them: the RTX codec
// of another payload type comes first, as offers list several.
var rtxCodecs = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: vp8, PayloadType: 96},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=102"}, PayloadType: 103},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=96"}, PayloadType: 97},
}

// bindRTX binds a recording subscriber that accepted RTX (SSRC 2000) to src.
func bindRTX(t *testing.T, ft *fanoutTrack) (*fakeBinding, *binding) {
	t.Helper()
	f := &fakeBinding{id: "r", ssrc: 1000, rtx: 2000, codecs: rtxCodecs, got: []rtp.Header{},
		exts: []webrtc.RTPHeaderExtensionParameter{{URI: videoOrientationURI, ID: 9}}}
	if _, err := ft.Bind(f); err != nil {
		t.Fatal(err)
	}
	b := ft.bindings[len(ft.bindings)-1]
	b.ready.Store(true)
	return f, b
}

// A NACKed packet comes back on the retransmission stream: the RTX SSRC and
// payload type, the stream's own sequence numbers (wrapping), the
// original's timestamp, marker and kept extensions, and as payload the
// number the subscriber knows the original by, then the original payload.
func TestNACKedPacketsAreResentOnTheRetransmissionStream(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	ft.exts = publisherExtensions(webrtc.RTPCodecTypeVideo, []webrtc.RTPHeaderExtensionParameter{{URI: videoOrientationURI, ID: 4}})
	f, b := bindRTX(t, ft)
	if b.rtx.ssrc != 2000 || b.rtx.pt != 97 {
		t.Fatalf("bound RTX SSRC %d, payload type %d; want 2000, 97 (apt=96)", b.rtx.ssrc, b.rtx.pt)
	}
	for seq := uint16(65534); seq != 2; seq++ {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: 9000 + uint32(seq), Marker: seq == 0},
			Payload: []byte{0x10, 0, byte(seq)}}
		p.Header.SetExtension(4, []byte{byte(seq)})
		ft.writeRTP(0, p)
	}
	b.rtx.seq = 0xffff // the next wraps
	ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{0, 65535})}, always, 0)
	if len(f.got) != 4+2 {
		t.Fatalf("got %d packets, want 4 and 2 resent", len(f.got))
	}
	for i, want := range []uint16{0xffff, 0} {
		h, orig := f.got[4+i], f.got[2-i] // seq 0, then 65535
		if h.SSRC != 2000 || h.PayloadType != 97 || h.SequenceNumber != want {
			t.Fatalf("retransmission %d: SSRC %d, PT %d, seq %d; want 2000, 97, %d", i, h.SSRC, h.PayloadType, h.SequenceNumber, want)
		}
		if h.Timestamp != orig.Timestamp || h.Marker != orig.Marker {
			t.Fatalf("retransmission %d: timestamp %d marker %v; the original's %d %v", i, h.Timestamp, h.Marker, orig.Timestamp, orig.Marker)
		}
		if v := h.GetExtension(9); !bytes.Equal(v, orig.GetExtension(9)) || len(v) != 1 {
			t.Fatalf("retransmission %d carries %v under the subscriber's id, the original %v", i, v, orig.GetExtension(9))
		}
		payload := f.payloads[4+i]
		if osn := binary.BigEndian.Uint16(payload); osn != orig.SequenceNumber || !bytes.Equal(payload[2:], f.payloads[2-i]) {
			t.Fatalf("retransmission %d: payload %x; want %04x then %x", i, payload, orig.SequenceNumber, f.payloads[2-i])
		}
	}
}

// A subscriber that accepted no RTX, or none for the track's codec, gets
// its retransmissions in the video's stream, as before.
func TestWithoutRTXRetransmissionsStayInTheVideosStream(t *testing.T) {
	for name, f := range map[string]*fakeBinding{
		"no RTX SSRC":         {id: "a", ssrc: 1000, codecs: rtxCodecs, got: []rtp.Header{}},
		"no RTX of its codec": {id: "b", ssrc: 1000, rtx: 2000, codecs: rtxCodecs[:2], got: []rtp.Header{}},
	} {
		ft := newFanoutTrack(vp8, "v", "p~s", nil)
		if _, err := ft.Bind(f); err != nil {
			t.Fatal(err)
		}
		ft.bindings[0].ready.Store(true)
		ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7}, Payload: []byte{1, 2}})
		ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: []rtcp.NackPair{{PacketID: 7}}}, always, 0)
		if len(f.got) != 2 || f.got[1].SSRC != 1000 || f.got[1].SequenceNumber != 7 || !bytes.Equal(f.payloads[1], []byte{1, 2}) {
			t.Fatalf("%s: resent %+v %x", name, f.got[1:], f.payloads[1:])
		}
	}
}

// Padding on RTX needs no end of a frame and takes no number of the
// video's: in the middle of a frame it is padding alone, no media packet
// resent (Chromium put a resent packet of a one-packet frame it already had
// into a frame again, and after some of those decoded nothing for 3 s),
// and the video's numbers run on unbroken.
func TestRTXPaddingMidFrameIsPaddingAlone(t *testing.T) {
	src := newSimulcastSource(t)
	f, sub := bindRTX(t, src.t)
	src.frame(0)
	// Half a frame: its first packet only.
	src.pkt.Header = rtp.Header{Version: 2, SequenceNumber: src.seq[0], Timestamp: src.ts[0]}
	src.pkt.Payload = []byte{0x10, 0x01, 0}
	src.t.writeRTP(0, &src.pkt)
	src.seq[0]++
	before := len(f.got)
	packets, sent := sub.pad(4 * paddingSize)
	if packets != 4 || len(f.got) != before+4 || sent != 4*paddingSize {
		t.Fatalf("padding mid-frame sent %d packets (%d bytes), recorded %d", packets, sent, len(f.got)-before)
	}
	for i, h := range f.got[before:] {
		if h.SSRC != 2000 || h.PayloadType != 97 || !h.Padding || len(f.payloads[before+i]) != 0 {
			t.Fatalf("padding packet %d: %+v, %d bytes of payload", i, h, len(f.payloads[before+i]))
		}
	}
	// The rest of the frame follows in the video's numbers.
	src.pkt.Header = rtp.Header{Version: 2, SequenceNumber: src.seq[0], Timestamp: src.ts[0], Marker: true}
	src.pkt.Payload = []byte{0, 0xaa, 0}
	src.t.writeRTP(0, &src.pkt)
	var video []rtp.Header
	for _, h := range f.got {
		if h.SSRC == 1000 {
			video = append(video, h)
		}
	}
	continuous(t, video)
	if len(video) != 4 {
		t.Fatalf("%d video packets", len(video))
	}
}

// A paused subscriber gets padding alone on RTX too: the padding bit, no payload, the stream's numbers.
func TestRTXPaddingForAPausedSubscriberIsPaddingAlone(t *testing.T) {
	src := newSimulcastSource(t)
	f, sub := bindRTX(t, src.t)
	src.frame(0)
	sub.want.Store(-1)
	src.frame()
	before := len(f.got)
	if n, sent := sub.pad(3 * paddingSize); n != 3 || sent != 3*paddingSize {
		t.Fatalf("padding a paused subscriber: %d packets, %d bytes", n, sent)
	}
	for i, h := range f.got[before:] {
		if h.SSRC != 2000 || h.PayloadType != 97 || !h.Padding || h.PaddingSize != paddingSize || len(f.payloads[before+i]) != 0 {
			t.Fatalf("padding packet %d: %+v", i, h)
		}
		if i > 0 && h.SequenceNumber != f.got[before+i-1].SequenceNumber+1 {
			t.Fatalf("padding numbered %d after %d", h.SequenceNumber, f.got[before+i-1].SequenceNumber)
		}
	}
	// Today's padding, chosen, goes in the video's stream.
	paddingStream = "media"
	defer func() { paddingStream = "rtx" }()
	sub.pad(paddingSize)
	if h := f.got[len(f.got)-1]; h.SSRC != 1000 || !h.Padding {
		t.Fatalf("padding in the video's stream went as %+v", h)
	}
}

// Forwarding, retransmitting on RTX and padding on RTX allocate nothing.
func TestRTXResendAndPaddingAllocateNothing(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	f := &fakeBinding{id: "r", ssrc: 1000, rtx: 2000, codecs: rtxCodecs}
	if _, err := ft.Bind(f); err != nil {
		t.Fatal(err)
	}
	b := ft.bindings[0]
	b.ready.Store(true)
	p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true}, Payload: make([]byte, 1000)}
	nack := &rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: []rtcp.NackPair{{}}}
	if n := testing.AllocsPerRun(1000, func() {
		p.SequenceNumber++
		ft.writeRTP(0, p)
		nack.Nacks[0].PacketID = p.SequenceNumber
		ft.resend(nack, always, 0)
		b.pad(2000)
	}); n != 0 {
		t.Fatalf("%v allocations per packet, retransmission and padding", n)
	}
}

// A packet NACKed again and again is resent on RTX maxResends times: pion
// receivers NACK a packet that came on RTX again every 100 ms.
func TestAPacketIsResentOnRTXAFewTimesAtMost(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	f, _ := bindRTX(t, ft)
	for seq := uint16(1); seq <= 3; seq++ {
		ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq}, Payload: []byte{1, 2}})
	}
	for range 2 * maxResends {
		ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{2})}, always, 0)
	}
	// A NACK the budget refuses takes none of the tries.
	ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{3})}, func(int) bool { return false }, 0)
	for range 2 * maxResends {
		ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{3})}, always, 0)
	}
	count := map[uint16]int{}
	for i, h := range f.got[3:] {
		if h.SSRC != 2000 {
			t.Fatalf("retransmission %d on SSRC %d", i, h.SSRC)
		}
		count[binary.BigEndian.Uint16(f.payloads[3+i])]++
	}
	if count[2] != maxResends || count[3] != maxResends {
		t.Fatalf("resent %v; want each %d times", count, maxResends)
	}
}

// A packet NACKed again within the subscriber's round trip is not resent
// again: behind a queue the first repair is still on its way, and a second
// copy of a one-packet frame Chromium had put together stilled its
// picture for 3 s. After the round trip it is.
func TestAPacketIsNotResentAgainWithinTheRoundTrip(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	f, b := bindRTX(t, ft)
	for seq := uint16(1); seq <= 3; seq++ {
		ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq}, Payload: []byte{1, 2}})
	}
	rtt := int64(time.Hour)
	nack := &rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{2})}
	ft.resend(nack, always, rtt)
	ft.resend(nack, always, rtt)
	if n := len(f.got) - 3; n != 1 {
		t.Fatalf("a packet NACKed twice within the round trip was resent %d times, want once", n)
	}
	b.rtx.resent[2%resendSlots].last -= rtt // the round trip passed
	ft.resend(nack, always, rtt)
	if n := len(f.got) - 3; n != 2 {
		t.Fatalf("a packet NACKed again after the round trip was resent %d times in all, want twice", n)
	}
}
