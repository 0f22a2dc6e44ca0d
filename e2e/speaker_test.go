package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// The room hears who speaks, from the audio levels the publishers send, and
// hears it again when someone else takes the floor.
func TestRoomIsToldWhoIsSpeaking(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{name: "Ann"})
	bo := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Bo"})
	cy := s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{name: "Cy"})
	annLevel := publishSpeech(t, ann, 20) // speaking
	boLevel := publishSpeech(t, bo, 127)  // silent

	if got := nextSpeaker(cy, 10*time.Second); got != ann.ID() {
		t.Fatalf("the room was told %q speaks; want Ann (%s)", got, ann.ID())
	}
	annLevel.Store(127)
	boLevel.Store(30)
	if got := nextSpeaker(cy, 10*time.Second); got != bo.ID() {
		t.Fatalf("after Ann stopped and Bo spoke, the room was told %q; want Bo (%s)", got, bo.ID())
	}
	// Silence takes the floor from nobody: no further word.
	boLevel.Store(127)
	if got := nextSpeaker(cy, 2*time.Second); got != "" {
		t.Fatalf("silence made %q the speaker", got)
	}
}

// publishSpeech publishes an audio track at 50 packets a second carrying
// the audio level extension at the level (in -dBov) it returns, which the
// test may change.
func publishSpeech(t *testing.T, c *signal.Client, level uint8) *atomic.Uint32 {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "mic")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	senders, err := c.Publish(ctx, track)
	if err != nil {
		t.Fatal(err)
	}
	var id uint8
	for _, e := range senders[0].GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		t.Fatal("the audio level extension was not negotiated")
	}
	var current atomic.Uint32
	current.Store(uint32(level))
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-c.Done():
				return
			case <-tick.C:
			}
			l := uint8(current.Load())
			ext, _ := rtp.AudioLevelExtension{Level: l, Voice: l < 127}.Marshal()
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: make([]byte, 40)}
			if err := pkt.Header.SetExtension(id, ext); err != nil {
				return
			}
			track.WriteRTP(pkt)
		}
	}()
	return &current
}

// nextSpeaker is the peer the next speaker message names, or "" when none
// comes within d.
func nextSpeaker(c *signal.Client, d time.Duration) string {
	if m := nextEvent(c, signal.TypeSpeaker, d); m != nil {
		return m.Target
	}
	return ""
}

// The page rings the speaker's tile and marks them in the list.
func TestBrowserShowsWhoIsSpeaking(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Cy")))
	b.waitState("joined", 30*time.Second)
	ann := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Ann"})
	publishAV(t, ann) // a camera tile to ring
	publishSpeech(t, ann, 20)
	marked, err := eval[bool](b, 30*time.Second, `(async () => {
		const sel = '.tile.speaking[data-peer="`+ann.ID()+`"]';
		const li = '#participants li.speaking[data-peer="`+ann.ID()+`"]';
		while (!document.querySelector(sel) || !document.querySelector(li)) await new Promise((r) => setTimeout(r, 100));
		return [...document.querySelectorAll('.speaking')].every((el) => el.dataset.peer === '`+ann.ID()+`');
	})()`)
	if err != nil || !marked {
		t.Fatalf("the page does not mark Ann as speaking, alone (%v, %v)", marked, err)
	}
	b.screenshot("speaker")
}
