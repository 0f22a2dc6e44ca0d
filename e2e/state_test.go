package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
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

// An admin mutes a participant: the server stops forwarding that
// participant's audio at once, tells them and the room, and forwards it
// again when they unmute themselves. A guest may not mute anyone.
func TestAnAdminMutesAParticipant(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	admin := s.person(t, "127.0.0.1").mustJoin("mute", joinOpts{token: mintPeer(t, accesstoken.Claims{Room: "mute", Admin: true}), name: "Ada"})
	ben := s.person(t, "127.0.0.2").mustJoin("mute", joinOpts{name: "Ben"})
	cy := s.person(t, "127.0.0.3").mustJoin("mute", joinOpts{name: "Cy"})
	heard := receive(cy)
	publishSpeech(t, ben, 20)
	if !heard.waitFor(10*time.Second, func() bool { return heard.count(ben.ID(), "audio") > 10 }) {
		t.Fatal("Cy does not hear Ben")
	}

	if err := cy.Send(signal.Message{Type: signal.TypeMute, Target: ben.ID()}); err != nil {
		t.Fatal(err)
	}
	if m := nextEvent(cy, signal.TypeError, 5*time.Second); m == nil || m.Code != "forbidden" {
		t.Fatalf("a guest muting: %+v", m)
	}
	admin.Send(signal.Message{Type: signal.TypeMute, Target: ben.ID()})
	if m := nextEvent(ben, signal.TypeMute, 5*time.Second); m == nil || !strings.Contains(m.Message, "Ada") {
		t.Fatalf("Ben was told %+v", m)
	}
	if m := nextEvent(cy, signal.TypeState, 5*time.Second); m == nil || m.Peer.ID != ben.ID() || !m.Peer.Muted {
		t.Fatalf("Cy heard %+v", m)
	}
	time.Sleep(300 * time.Millisecond) // what was on its way arrives
	before := heard.count(ben.ID(), "audio")
	time.Sleep(time.Second)
	if after := heard.count(ben.ID(), "audio"); after != before {
		t.Fatalf("Cy got %d packets of Ben's muted microphone in a second", after-before)
	}

	no := false
	ben.Send(signal.Message{Type: signal.TypeState, Muted: &no})
	if !heard.waitFor(5*time.Second, func() bool { return heard.count(ben.ID(), "audio") > before+10 }) {
		t.Fatal("Ben unmuted himself and Cy still does not hear him")
	}
}

// Chat reaches everyone as it was written, whoever comes later reads the
// room's last messages, and a peer cannot flood it.
func TestChatReachesTheRoomWithinItsLimits(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann := s.person(t, "127.0.0.1").mustJoin("chat", joinOpts{name: "Ann"})
	ben := s.person(t, "127.0.0.2").mustJoin("chat", joinOpts{name: "Ben"})
	const text = `<img src=x onerror=alert(1)> & "hi"`
	ann.Send(signal.Message{Type: signal.TypeChat, Text: text})
	for _, c := range []*signal.Client{ann, ben} {
		m := nextEvent(c, signal.TypeChat, 5*time.Second)
		if m == nil || m.Text != text || m.Peer == nil || m.Peer.ID != ann.ID() || m.At == 0 {
			t.Fatalf("chat arrived as %+v", m)
		}
	}
	cy := s.person(t, "127.0.0.3").mustJoin("chat", joinOpts{name: "Cy"})
	if len(cy.Welcome.Chat) != 1 || cy.Welcome.Chat[0].Text != text {
		t.Fatalf("a latecomer's welcome has the chat %+v", cy.Welcome.Chat)
	}
	// Too long, or nothing: refused.
	ben.Send(signal.Message{Type: signal.TypeChat, Text: strings.Repeat("x", signal.MaxChatBytes+1)})
	if m := nextEvent(ben, signal.TypeError, 5*time.Second); m == nil || m.Code != "bad_message" {
		t.Fatalf("an over-long message: %+v", m)
	}
	// A burst of five goes through; the sixth is refused.
	for i := range 6 {
		ben.Send(signal.Message{Type: signal.TypeChat, Text: fmt.Sprint("flood ", i)})
	}
	if m := nextEvent(ben, signal.TypeError, 5*time.Second); m == nil || m.Code != "too_many_chats" {
		t.Fatalf("the sixth message at once: %+v", m)
	}
}
