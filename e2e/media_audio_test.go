package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Opus goes both ways with in-band FEC and DTX asked for, and its payload
// reaches the listener as the speaker made it (FEC lives inside it).
func TestOpusNegotiatesFECAndDTXAndPassesThrough(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	speaker := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{name: "Ann"})
	listener := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Bo"})
	publishAV(t, speaker)

	var audio *webrtc.TrackRemote
	deadline := time.After(20 * time.Second)
	for audio == nil {
		select {
		case tr := <-listener.Tracks():
			if tr.Track.Kind() == webrtc.RTPCodecTypeAudio {
				audio = tr.Track
			}
		case <-deadline:
			t.Fatal("the listener got no audio track")
		}
	}
	pkt, _, err := audio.ReadRTP()
	if err != nil {
		t.Fatal(err)
	}
	if len(pkt.Payload) != 80 { // publishAV sends 80-byte Opus payloads
		t.Fatalf("the payload arrived as %d bytes", len(pkt.Payload))
	}

	// The server's answer tells the speaker's side to send FEC and DTX; its
	// offer tells the listener's side the same.
	for side, d := range map[string]*webrtc.SessionDescription{
		"answer to the speaker": speaker.Pub.RemoteDescription(),
		"offer to the listener": listener.Sub.RemoteDescription(),
	} {
		fmtp := opusFmtp(t, d)
		for _, want := range []string{"useinbandfec=1", "usedtx=1"} {
			if !strings.Contains(fmtp, want) {
				t.Errorf("the server's %s has Opus fmtp %q, without %s", side, fmtp, want)
			}
		}
	}
}

// opusFmtp is the fmtp line of the Opus codec in a session description.
func opusFmtp(t *testing.T, d *webrtc.SessionDescription) string {
	t.Helper()
	if d == nil {
		t.Fatal("no session description")
	}
	var parsed sdp.SessionDescription
	if err := parsed.Unmarshal([]byte(d.SDP)); err != nil {
		t.Fatal(err)
	}
	pt, err := parsed.GetPayloadTypeForCodec(sdp.Codec{Name: "opus"})
	if err != nil {
		t.Fatalf("no Opus in %s", d.SDP)
	}
	c, err := parsed.GetCodecForPayloadType(pt)
	if err != nil {
		t.Fatal(err)
	}
	return c.Fmtp
}
