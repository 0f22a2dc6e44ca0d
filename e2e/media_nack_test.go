package e2e

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestNacksAreAnsweredFromTheServersHistory(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	pub := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{})
	publishAV(t, pub)
	sub := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{acceptRepeats: true})

	var video *webrtc.TrackRemote
	for video == nil {
		select {
		case rt := <-sub.Tracks():
			if rt.Track.Kind() == webrtc.RTPCodecTypeVideo {
				video = rt.Track
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no video track arrived")
		}
	}
	seen := map[uint16]int{}
	var asked uint16
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		video.SetReadDeadline(deadline)
		var p rtp.Packet
		buf := make([]byte, 1500)
		n, _, err := video.Read(buf)
		if err != nil || p.Unmarshal(buf[:n]) != nil {
			t.Fatalf("reading video: %v", err)
		}
		seen[p.SequenceNumber]++
		switch {
		case len(seen) == 20 && asked == 0:
			// Ask again for a packet that did arrive.
			asked = p.SequenceNumber - 5
			if seen[asked] != 1 {
				t.Fatalf("packet %d was not received once", asked)
			}
			if err := sub.Sub.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
				MediaSSRC: uint32(video.SSRC()), Nacks: []rtcp.NackPair{{PacketID: asked}}}}); err != nil {
				t.Fatal(err)
			}
		case asked != 0 && seen[asked] == 2:
			return
		}
	}
	t.Fatalf("the NACKed packet %d was not sent again", asked)
}
