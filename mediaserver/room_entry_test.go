package mediaserver

import (
	"testing"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// A room whose last person leaves while someone else is on the way in (the
// server handed them the room, they have not joined yet) is not forgotten:
// before, the newcomer joined a room the server no longer held, alone,
// while everyone after them met in a fresh one (seen when a whole call
// came back at once after a gateway restarted).
func TestARoomSomeoneIsEnteringIsNotForgotten(t *testing.T) {
	s, err := New(Config{Secret: testSecret, UDPPort: freeUDPPort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	welcome := func([]signal.PeerInfo, bool, []signal.Message) {}
	enter := func(id string) *Peer {
		t.Helper()
		a := &accesstoken.Admission{Room: "standup"}
		a.Subject = id
		r, code, msg := s.roomFor(a, false)
		if r == nil {
			t.Fatalf("%s: %s %s", id, code, msg)
		}
		return newPeer(s, r, a, nil) // no connection: what it is sent waits in its queue
	}

	ada := enter("ada")
	if !ada.room.join(ada, welcome) {
		t.Fatal("ada could not join")
	}
	bob := enter("bob") // handed the room, not in it yet
	ada.room.leave(ada) // the last one in leaves
	if !bob.room.join(bob, welcome) {
		t.Fatal("bob could not join")
	}
	carol := enter("carol")
	if carol.room != bob.room {
		t.Fatal("bob joined a room the server had forgotten; carol is in another")
	}
	// Someone handed the room who never comes in does not keep it.
	dan := enter("dan")
	dan.room.entryFailed()
	carol.room.join(carol, welcome)
	bob.room.leave(bob)
	carol.room.leave(carol)
	if s.serves("standup") {
		t.Fatal("an empty room is still held")
	}
}
