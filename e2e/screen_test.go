package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// A publisher names its screen share in its offer, and subscribers learn
// which stream is which from the server, whatever order they come in: a
// presenter who joins with camera and microphone off and shares a screen,
// then turns the camera on, must not have the camera shown as the screen.
func TestScreenShareIsMarkedWhicheverComesFirst(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{name: "Ann"})
	bo := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Bo"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	screen, err := webrtc.NewTrackLocalStaticRTP(vp8, "screen-video", "desk")
	if err != nil {
		t.Fatal(err)
	}
	camera, err := webrtc.NewTrackLocalStaticRTP(vp8, "camera-video", "cam")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bo.PublishScreen(ctx, screen); err != nil {
		t.Fatalf("sharing the screen: %v", err)
	}
	go sendVP8(bo, screen)
	first := nextTrack(ctx, t, ann)
	if _, err := bo.Publish(ctx, camera); err != nil {
		t.Fatalf("publishing the camera: %v", err)
	}
	go sendVP8(bo, camera)
	second := nextTrack(ctx, t, ann)

	for _, rt := range []*signal.RemoteTrack{first, second} {
		if rt.Peer != bo.ID() {
			t.Errorf("a track from %q, want Bo (%s)", rt.Peer, bo.ID())
		}
		wantScreen := strings.HasSuffix(rt.Track.StreamID(), "desk")
		if rt.Screen != wantScreen {
			t.Errorf("stream %q arrived with screen %v, want %v", rt.Track.StreamID(), rt.Screen, wantScreen)
		}
	}
	if !first.Screen || second.Screen {
		t.Errorf("first (the screen) screen=%v, second (the camera) screen=%v", first.Screen, second.Screen)
	}
}

// nextTrack waits for the next track c receives.
func nextTrack(ctx context.Context, t *testing.T, c *signal.Client) *signal.RemoteTrack {
	t.Helper()
	select {
	case rt := <-c.Tracks():
		return rt
	case <-ctx.Done():
		t.Fatal("no track arrived")
		return nil
	}
}

// sendVP8 sends keyframe-marked VP8 packets on track until c leaves.
func sendVP8(c *signal.Client, track *webrtc.TrackLocalStaticRTP) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	payload := []byte{0x10, 0x00, 0, 0, 0, 0, 0, 0}
	for seq := uint16(0); ; seq++ {
		select {
		case <-c.Done():
			return
		case <-tick.C:
		}
		track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 1800, Marker: true}, Payload: payload})
	}
}
