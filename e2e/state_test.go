package e2e

import (
	"testing"
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
)

// What a person says of itself (microphone off, camera off, hand raised)
// reaches everyone in the room, and whoever comes later.
func TestPeersSeeEachOthersState(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann := s.person(t, "127.0.0.1").mustJoin("state", joinOpts{name: "Ann"})
	ben := s.person(t, "127.0.0.2").mustJoin("state", joinOpts{name: "Ben"})
	yes, no := true, false

	if err := ann.Send(signal.Message{Type: signal.TypeState, Muted: &yes, Hand: &yes}); err != nil {
		t.Fatal(err)
	}
	m := nextEvent(ben, signal.TypeState, 5*time.Second)
	if m == nil || m.Peer == nil || m.Peer.ID != ann.ID() || !m.Peer.Muted || !m.Peer.Hand || m.Peer.CameraOff || m.Peer.Name != "Ann" {
		t.Fatalf("Ben heard %+v", m)
	}
	// Only what a state message names changes.
	ann.Send(signal.Message{Type: signal.TypeState, Hand: &no, CameraOff: &yes})
	if m := nextEvent(ben, signal.TypeState, 5*time.Second); m == nil || !m.Peer.Muted || m.Peer.Hand || !m.Peer.CameraOff {
		t.Fatalf("after lowering the hand and turning the camera off, Ben heard %+v", m)
	}
	// Someone who comes later learns it from the welcome.
	cy := s.person(t, "127.0.0.3").mustJoin("state", joinOpts{name: "Cy"})
	var seen *signal.PeerInfo
	for i, p := range cy.Welcome.Peers {
		if p.ID == ann.ID() {
			seen = &cy.Welcome.Peers[i]
		}
	}
	if seen == nil || !seen.Muted || !seen.CameraOff || seen.Hand {
		t.Fatalf("Cy's welcome says of Ann %+v", seen)
	}
	// A state that says nothing is refused, and changes nothing.
	ann.Send(signal.Message{Type: signal.TypeState})
	if m := nextEvent(ann, signal.TypeError, 5*time.Second); m == nil || m.Code != "bad_message" {
		t.Fatalf("an empty state: %+v", m)
	}
}
