package e2e

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/load"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

const videoOrientationURI = "urn:3gpp:video-orientation"

// cameraLayers are a browser camera's three simulcast layers, as the page
// sends them.
func cameraLayers() []*load.VP8Layer {
	return []*load.VP8Layer{
		load.NewVP8Layer(320, 180, 150_000, 30, 0),
		load.NewVP8Layer(640, 360, 500_000, 30, 1),
		load.NewVP8Layer(1280, 720, 1_500_000, 30, 2),
	}
}

// publishSimulcast publishes a camera in three layers (rids q, h, f) until
// the test ends, every packet saying the phone is held upright (rotate by
// 90°). It returns the stream id subscribers see.
func publishSimulcast(t *testing.T, c *signal.Client) string {
	t.Helper()
	return publishSimulcastWith(t, c, nil)
}

// simulcastTap counts, by layer, the keyframes the server asked a
// publisher for and the packets it sent.
type simulcastTap struct{ keyframes, sent [3]counter }

// counter counts, from any goroutine.
type counter = atomic.Uint64

// publishSimulcastWith is publishSimulcast, counting into tap (nil: no
// counts).
func publishSimulcastWith(t *testing.T, c *signal.Client, tap *simulcastTap) string {
	t.Helper()
	layers := cameraLayers()
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, rid := range []string{"q", "h", "f"} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "cam", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sim, err := c.PublishSimulcast(ctx, func(l int) {
		layers[l].RequestKeyframe()
		if tap != nil {
			tap.keyframes[l].Add(1)
		}
	}, tracks...)
	if err != nil {
		t.Fatal(err)
	}
	var cvo uint8
	for _, e := range sim.Sender.GetParameters().HeaderExtensions {
		if e.URI == videoOrientationURI {
			cvo = uint8(e.ID)
		}
	}
	if cvo == 0 {
		t.Fatal("the video orientation extension was not negotiated")
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-done:
				return
			}
			for i, l := range layers {
				for _, p := range l.Frame() {
					p.Header.SetExtension(cvo, []byte{0x01}) // R1 R0 = 01: 90°
					sim.WriteRTP(i, p)
					if tap != nil {
						tap.sent[i].Add(1)
					}
				}
			}
		}
	}()
	t.Cleanup(func() { close(done); wg.Wait() })
	return signal.StreamID(c.ID(), "cam", false)
}

// layerWatch follows the video a subscriber receives: which layer each
// packet came from, its sequence numbers, the orientation it carries.
type layerWatch struct {
	mu        sync.Mutex
	marks     []byte
	seqs      []uint16
	rotations []byte
}

func watchLayers(t *testing.T, c *signal.Client) *layerWatch {
	w := &layerWatch{}
	go func() {
		for {
			select {
			case rt := <-c.Tracks():
				if rt.Track.Kind() == webrtc.RTPCodecTypeVideo {
					go w.read(rt)
				} else {
					go drain(rt.Track)
				}
			case <-c.Done():
				return
			}
		}
	}()
	return w
}

// drain reads a track to its end, as a real client does: the transport-wide
// feedback counts a packet left unread as lost.
func drain(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := t.Read(buf); err != nil {
			return
		}
	}
}

func (w *layerWatch) read(rt *signal.RemoteTrack) {
	var cvo uint8
	for _, e := range rt.Receiver.GetParameters().HeaderExtensions {
		if e.URI == videoOrientationURI {
			cvo = uint8(e.ID)
		}
	}
	for {
		p, _, err := rt.Track.ReadRTP()
		if err != nil {
			return
		}
		if len(p.Payload) == 0 {
			continue // the server's padding
		}
		w.mu.Lock()
		w.marks = append(w.marks, p.Payload[len(p.Payload)-1])
		w.seqs = append(w.seqs, p.SequenceNumber)
		rot := byte(0xff)
		if v := p.Header.GetExtension(cvo); cvo != 0 && len(v) == 1 {
			rot = v[0]
		}
		w.rotations = append(w.rotations, rot)
		w.mu.Unlock()
	}
}

func (w *layerWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.marks)
}

// since returns what arrived after the first n packets, and the count now.
func (w *layerWatch) since(n int) (marks []byte, seqs []uint16, rotations []byte, total int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n = min(n, len(w.marks))
	return append([]byte(nil), w.marks[n:]...), append([]uint16(nil), w.seqs[n:]...), append([]byte(nil), w.rotations[n:]...), len(w.marks)
}

// settlesOn waits until the last second's packets all came from one layer,
// and says whether it was want.
func (w *layerWatch) settlesOn(want byte, within time.Duration) bool {
	return eventually(within, func() bool {
		_, _, _, n := w.since(0)
		time.Sleep(time.Second)
		marks, _, _, _ := w.since(n)
		if len(marks) < 10 {
			return false
		}
		for _, m := range marks {
			if m != want {
				return false
			}
		}
		return true
	})
}

func TestSimulcastEachSubscriberGetsTheLayerItsTileNeeds(t *testing.T) {
	s := newMediaSite(t, "")
	pub := s.person(t, "127.0.0.1").mustJoin("simulcast", joinOpts{})
	quiet := s.person(t, "127.0.0.2").mustJoin("simulcast", joinOpts{})
	tiles := s.person(t, "127.0.0.3").mustJoin("simulcast", joinOpts{})
	quietSees, tilesSees := watchLayers(t, quiet), watchLayers(t, tiles)
	stream := publishSimulcast(t, pub)

	// A subscriber that says nothing of its tiles gets the top layer, the
	// phone's orientation under its own extension id.
	if !quietSees.settlesOn(2, 10*time.Second) {
		marks, _, _, _ := quietSees.since(0)
		t.Fatalf("a subscriber without views did not settle on the top layer: %v", tail(marks))
	}
	_, _, rot, _ := quietSees.since(0)
	if rot[len(rot)-1] != 0x01 {
		t.Fatalf("the orientation arrived as %#x, want 0x01 (90°)", rot[len(rot)-1])
	}

	// A thumbnail gets the low layer, with no gap in its sequence numbers
	// where the layers changed.
	_, _, _, before := tilesSees.since(0)
	if err := tiles.Send(signal.Message{Type: signal.TypeView, Views: []signal.View{{Stream: stream, Width: 200, Height: 112}}}); err != nil {
		t.Fatal(err)
	}
	if !tilesSees.settlesOn(0, 10*time.Second) {
		marks, _, _, _ := tilesSees.since(0)
		t.Fatalf("a thumbnail did not settle on the low layer: %v", tail(marks))
	}
	marks, seqs, _, _ := tilesSees.since(max(0, before-5))
	if !contains(marks, 2) || !contains(marks, 0) {
		t.Fatalf("the watch did not span the switch: %v", tail(marks))
	}
	if gaps := seqGaps(seqs); gaps > 0 {
		t.Fatalf("%d sequence numbers missing across the switch", gaps)
	}

	// Pinned large, it gets the top layer again within a few seconds.
	if err := tiles.Send(signal.Message{Type: signal.TypeView, Views: []signal.View{{Stream: stream, Width: 1280, Height: 720}}}); err != nil {
		t.Fatal(err)
	}
	if !tilesSees.settlesOn(2, 5*time.Second) {
		marks, _, _, _ := tilesSees.since(0)
		t.Fatalf("a large tile did not get the top layer: %v", tail(marks))
	}

	// Not shown, it gets no video at all; the other subscriber is unmoved.
	if err := tiles.Send(signal.Message{Type: signal.TypeView, Views: []signal.View{{Stream: stream}}}); err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool {
		_, _, _, n := tilesSees.since(0)
		time.Sleep(time.Second)
		_, _, _, m := tilesSees.since(0)
		return m == n
	}) {
		t.Fatal("a hidden tile still receives video")
	}
	if !quietSees.settlesOn(2, 3*time.Second) {
		t.Fatal("the other subscriber lost the top layer")
	}
}

func contains(b []byte, v byte) bool {
	for _, x := range b {
		if x == v {
			return true
		}
	}
	return false
}

func tail(b []byte) []byte { return b[max(0, len(b)-60):] }

// seqGaps counts the sequence numbers missing between the lowest and the
// highest received (a retransmission fills a gap).
func seqGaps(seqs []uint16) int {
	if len(seqs) == 0 {
		return 0
	}
	seen := map[uint16]bool{}
	first := seqs[0]
	last := first
	for _, s := range seqs {
		seen[s] = true
		if int16(s-last) > 0 {
			last = s
		}
		if int16(s-first) < 0 {
			first = s
		}
	}
	gaps := 0
	for s := first; s != last; s++ {
		if !seen[s] {
			gaps++
		}
	}
	return gaps
}
