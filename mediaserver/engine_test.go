package mediaserver

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
)

// TestPublicIPReplacesLocalAddressesInCandidates gathers the server's own
// candidates only: nothing is sent to the announced address.
func TestPublicIPReplacesLocalAddressesInCandidates(t *testing.T) {
	s, err := New(Config{
		Secret:    accesstoken.Secret(strings.Repeat("s", 32)),
		UDPPort:   freeUDPPort(t),
		PublicIPs: []netip.Addr{netip.MustParseAddr("203.0.113.7")},
		ICEIPs:    []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pc, _, err := s.engine.newSubscriber(&feedbackCount{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("gathering did not complete")
	}
	sdp := pc.LocalDescription().SDP
	if !strings.Contains(sdp, "203.0.113.7") || strings.Contains(sdp, " 127.0.0.1 ") {
		t.Fatalf("candidates do not announce the public address instead of the local one:\n%s", sdp)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
