package mediaserver

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

func TestPaddingIsNumberedWithTheMediaAndNeverResent(t *testing.T) {
	src := newSimulcastSource(t)
	b := src.bind(t)
	sub := src.t.bindings[0]
	src.frame(0)
	src.frame()
	if n, _ := sub.pad(3 * paddingSize); n != 3 {
		t.Fatal("no padding after a whole frame")
	}
	src.frame()
	continuous(t, b.got)
	if len(b.got) != 9 {
		t.Fatalf("got %d packets, want 2 frames, 3 padding, 1 frame", len(b.got))
	}
	for i, h := range b.got[4:7] {
		if b.layers[4+i] != padded || !h.Padding || h.PaddingSize != paddingSize || h.SSRC != sub.ssrc || h.PayloadType != sub.pt || h.Marker {
			t.Fatalf("padding packet %d: %+v", i, h)
		}
		if h.Timestamp != b.got[3].Timestamp {
			t.Fatalf("padding's timestamp %d, the last frame's %d", h.Timestamp, b.got[3].Timestamp)
		}
	}

	// A NACK for padding gets nothing; one for the media after it gets
	// that packet, under the number the subscriber knows it by.
	before := len(b.got)
	src.t.resend(&rtcp.TransportLayerNack{MediaSSRC: sub.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{b.got[5].SequenceNumber})}, always, 0)
	if len(b.got) != before {
		t.Fatalf("a NACK for padding was answered: %+v", b.got[before:])
	}
	want := b.got[7]
	src.t.resend(&rtcp.TransportLayerNack{MediaSSRC: sub.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{want.SequenceNumber, b.got[2].SequenceNumber})}, always, 0)
	if len(b.got) != before+2 {
		t.Fatalf("NACKs for two media packets answered with %d", len(b.got)-before)
	}
	for i, got := range b.got[before:] {
		if got.SequenceNumber == want.SequenceNumber && (got.Timestamp != want.Timestamp || b.layers[before+i] != 0) {
			t.Fatalf("resent %+v (layer %d) for %+v", got, b.layers[before+i], want)
		}
	}
}

func TestPaddingWaitsForTheEndOfAFrame(t *testing.T) {
	src := newSimulcastSource(t)
	b := src.bind(t)
	sub := src.t.bindings[0]
	src.frame(0)
	// Half a frame: its first packet only.
	src.pkt.Header = rtp.Header{Version: 2, SequenceNumber: src.seq[0], Timestamp: src.ts[0]}
	src.pkt.Payload = []byte{0x10, 0x01, 0}
	src.t.writeRTP(0, &src.pkt)
	n := len(b.got)
	if p, _ := sub.pad(2 * paddingSize); p != 0 || len(b.got) != n {
		t.Fatalf("padding in the middle of a frame: %d packets after %d", len(b.got), n)
	}
}

func TestAPausedSubscriberIsPaddedAndResumesAfterThePadding(t *testing.T) {
	src := newSimulcastSource(t)
	b := src.bind(t)
	sub := src.t.bindings[0]
	src.frame(0)
	sub.want.Store(-1) // paused
	src.frame()
	for range 3 {
		if n, _ := sub.pad(2 * paddingSize); n != 2 {
			t.Fatal("a paused subscriber gets no padding")
		}
	}
	sub.want.Store(0)
	src.frame()
	src.frame(0)
	continuous(t, b.got)
	if len(b.got) != 2+6+2 || b.layers[8] != 0 {
		t.Fatalf("got layers %v: want a frame, 6 padding, the keyframe", b.layers)
	}
	// Every padding packet is one run: none is answered.
	before := len(b.got)
	for _, h := range b.got[2:8] {
		src.t.resend(&rtcp.TransportLayerNack{MediaSSRC: sub.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{h.SequenceNumber})}, always, 0)
	}
	if len(b.got) != before {
		t.Fatalf("NACKs for padding answered with %d packets", len(b.got)-before)
	}
}

func TestPadderSpreadsItsRateAndStopsAtZero(t *testing.T) {
	src := newSimulcastSource(t)
	b := src.bind(t)
	src.frame(0)
	pd := newPadder()
	pd.set(8*paddingSize*100, src.t.bindings[0]) // 100 packets a second
	at := time.Now()
	for range 21 {
		pd.tick(at)
		at = at.Add(padInterval)
	}
	if n := len(b.got) - 2; n < 95 || n > 101 || pd.Sent() != n {
		t.Fatalf("a second at 100 packets a second sent %d (counted %d)", n, pd.Sent())
	}
	pd.set(0, nil)
	n := len(b.got)
	pd.tick(at.Add(time.Second))
	if len(b.got) != n {
		t.Fatal("padding at rate 0")
	}
}

func TestLossWindowLooksBackHalfASecondOrUntilItCanJudge(t *testing.T) {
	var f feedbackCount
	var w lossWindow
	at := time.Unix(1000, 0)
	report := func(received, lost int64) float64 {
		f.received.Add(received)
		f.lost.Add(lost)
		at = at.Add(250 * time.Millisecond)
		l, known := w.update(at, &f)
		if !known {
			t.Fatalf("loss %v not known after %d packets more were reported", l, received+lost)
		}
		return l
	}
	if l, known := w.update(at, &f); l != 0 || known {
		t.Fatalf("loss %v (known %v) with nothing reported", l, known)
	}
	f.received.Add(3)
	f.lost.Add(1)
	at = at.Add(250 * time.Millisecond)
	if l, known := w.update(at, &f); l != 0 || known {
		t.Fatalf("loss %v (known %v) from 4 packets, fewer than it judges on", l, known)
	}
	if l := report(6, 0); l != 0.1 {
		t.Fatalf("loss %v, want 1 of 10", l)
	}
	for range 4 {
		report(10, 0)
	}
	if l := report(10, 0); l != 0 {
		t.Fatalf("loss %v a second after the last packet lost", l)
	}
	if l := report(5, 5); l != 0.25 {
		t.Fatalf("loss %v, want 5 of the last 20", l)
	}
	// A trickle (a paused subscriber's padding): too few in half a second,
	// the window looks back further, up to two seconds.
	for range 8 {
		at = at.Add(250 * time.Millisecond)
		w.update(at, &f)
	}
	f.received.Add(1)
	at = at.Add(250 * time.Millisecond)
	if l, known := w.update(at, &f); known {
		t.Fatalf("loss %v known from 1 packet in 2 s", l)
	}
	for range 3 {
		at = at.Add(250 * time.Millisecond)
		f.received.Add(1)
		f.lost.Add(1)
		w.update(at, &f)
	}
	at = at.Add(250 * time.Millisecond)
	if l, known := w.update(at, &f); !known || l != 0.5 {
		t.Fatalf("loss %v (known %v), want 3 of the 6 of the last second", l, known)
	}
}
