package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

func TestPeersReceiveEachOthersMediaAsTheyComeAndGo(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	var clients []*signal.Client
	var recv []*receiver
	for i, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		c := s.person(t, ip).mustJoin("standup", joinOpts{name: []string{"Ann", "Bo", "Cy"}[i]})
		recv = append(recv, receive(c))
		clients = append(clients, c)
		publishAV(t, clients[i])
	}
	ids := func(cs ...*signal.Client) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID())
		}
		return out
	}
	for i, r := range recv {
		others := slices.Delete(slices.Clone(clients), i, i+1)
		if !r.hears(20, ids(others...)...) {
			t.Fatalf("peer %d hears %v; want audio and video from %v", i, r.publishers(), ids(others...))
		}
	}

	// A fourth arrives and gets all three.
	d := s.person(t, "127.0.0.4").mustJoin("standup", joinOpts{name: "Di"})
	if len(d.Welcome.Peers) != 3 {
		t.Fatalf("the fourth was welcomed with %d peers", len(d.Welcome.Peers))
	}
	rd := receive(d)
	if !rd.hears(20, ids(clients...)...) {
		t.Fatalf("the fourth hears %v", rd.publishers())
	}

	// One leaves: the others' tracks for it end, and they are told.
	clients[1].Close()
	for _, i := range []int{0, 2} {
		if m := nextEvent(clients[i], signal.TypePeerLeft, 10*time.Second); m == nil || m.Peer.ID != clients[1].ID() {
			t.Fatalf("peer %d was not told that %s left", i, clients[1].ID())
		}
	}
	for _, r := range []*receiver{recv[0], recv[2], rd} {
		if !r.waitFor(10*time.Second, func() bool {
			return r.trackEnded(clients[1].ID(), "audio") && r.trackEnded(clients[1].ID(), "video")
		}) {
			t.Fatal("the tracks of the peer who left did not end")
		}
	}
	// The rest still hear each other.
	before := recv[0].count(clients[2].ID(), "video")
	if !recv[0].waitFor(5*time.Second, func() bool { return recv[0].count(clients[2].ID(), "video") > before+20 }) {
		t.Fatal("media stopped between the peers who stayed")
	}
}

func TestPeersWithoutUDPUseICETCP(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	a := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{tcpOnly: true})
	b := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{tcpOnly: true})
	ra, rb := receive(a), receive(b)
	publishAV(t, a)
	publishAV(t, b)
	if !ra.hears(20, b.ID()) || !rb.hears(20, a.ID()) {
		t.Fatal("TCP-only peers do not hear each other")
	}
	pair, err := a.Sub.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Fatalf("selected pair %v, %v; want TCP", pair, err)
	}
}
