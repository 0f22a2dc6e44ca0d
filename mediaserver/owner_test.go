package mediaserver

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// ownerRoom is a media server whose peers are made without connections:
// what they are sent waits in their queues.
type ownerRoom struct {
	t     *testing.T
	s     *Server
	clock *clockwork.FakeClock
}

func newOwnerRoom(t *testing.T) *ownerRoom {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s, err := New(Config{Secret: testSecret, UDPPort: freeUDPPort(t), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &ownerRoom{t: t, s: s, clock: clock}
}

// join brings a peer into room with the admission a says, a second after
// the one before.
func (o *ownerRoom) join(room, id string, a accesstoken.Admission) *Peer {
	o.t.Helper()
	o.clock.Advance(time.Second)
	a.Room, a.Subject = room, id
	if a.Role == "" {
		a.Role = accesstoken.PeerGuest
	}
	r, code, msg := o.s.roomFor(&a, false)
	if r == nil {
		o.t.Fatalf("%s: %s %s", id, code, msg)
	}
	p := newPeer(o.s, r, &a, nil)
	if !r.join(p, func([]signal.PeerInfo, bool, []signal.Message) {}) {
		o.t.Fatalf("%s could not join", id)
	}
	return p
}

var openGuest = accesstoken.Admission{Role: accesstoken.PeerGuest, MayOwn: true}

// roles reads, from what p was sent, the last role each peer was told to
// have in role messages.
func roles(t *testing.T, p *Peer) map[string]string {
	t.Helper()
	out := map[string]string{}
	for {
		select {
		case o := <-p.out:
			var m signal.Message
			if err := json.Unmarshal(o.b, &m); err != nil {
				t.Fatal(err)
			}
			if m.Type == signal.TypeRole {
				out[m.Peer.ID] = m.Peer.Role
			}
		default:
			return out
		}
	}
}

func TestTheFirstGuestOfAnOpenRoomOwnsItAndTheLongestInTakesOver(t *testing.T) {
	o := newOwnerRoom(t)
	ann := o.join("standup", "ann", openGuest)
	bo := o.join("standup", "bo", openGuest)
	// A guest who came with a token keeps the role the token gives.
	tok := o.join("standup", "tok", accesstoken.Admission{Role: accesstoken.PeerGuest})
	cy := o.join("standup", "cy", openGuest)
	if ann.info().Role != PeerOwner || !ann.mayAdmin() {
		t.Fatalf("the first in is %q", ann.info().Role)
	}
	for _, p := range []*Peer{bo, tok, cy} {
		if p.info().Role != "guest" || p.mayAdmin() {
			t.Fatalf("%s is %q, may admin %v", p.id, p.info().Role, p.mayAdmin())
		}
		if err := p.handle(&signal.Message{Type: signal.TypeLock, Locked: ptr(true)}); !errors.Is(err, errNotAdmin) {
			t.Fatalf("%s, a guest, locked the room: %v", p.id, err)
		}
	}
	if err := ann.handle(&signal.Message{Type: signal.TypeLock, Locked: ptr(true)}); err != nil {
		t.Fatalf("the owner may not lock the room: %v", err)
	}

	ann.room.leave(ann)
	if bo.info().Role != PeerOwner || cy.info().Role != "guest" || tok.info().Role != "guest" {
		t.Fatalf("after the owner left: bo %q, cy %q, tok %q", bo.info().Role, cy.info().Role, tok.info().Role)
	}
	for _, p := range []*Peer{bo, tok, cy} {
		if got := roles(t, p)["bo"]; got != PeerOwner {
			t.Fatalf("%s was told bo is %q", p.id, got)
		}
	}
	// Past the one who came with a token, to the next who may own it.
	bo.room.leave(bo)
	if cy.info().Role != PeerOwner || tok.info().Role != "guest" {
		t.Fatalf("after bo left: cy %q, tok %q", cy.info().Role, tok.info().Role)
	}
}

func TestAnOwnerRunsOnlyTheirOwnRoom(t *testing.T) {
	o := newOwnerRoom(t)
	ann := o.join("a", "ann", openGuest)
	bo := o.join("b", "bo", openGuest)
	ann2 := o.join("b", "ann2", openGuest) // Ann again, in another room
	if ann.info().Role != PeerOwner || bo.info().Role != PeerOwner {
		t.Fatal("each room's first is not its owner")
	}
	if ann2.mayAdmin() {
		t.Fatal("the owner of room a has rights in room b")
	}
	if err := ann2.handle(&signal.Message{Type: signal.TypeKick, Target: "bo"}); !errors.Is(err, errNotAdmin) {
		t.Fatalf("the owner of room a removed someone from room b: %v", err)
	}
}

func TestAHostEndsTheOwnershipAndLeavingGivesItBack(t *testing.T) {
	o := newOwnerRoom(t)
	ann := o.join("standup", "ann", openGuest)
	bo := o.join("standup", "bo", openGuest)
	host := o.join("standup", "host", accesstoken.Admission{Role: accesstoken.PeerHost})
	if ann.info().Role != "guest" || ann.mayAdmin() {
		t.Fatalf("with a host in, the owner is still %q", ann.info().Role)
	}
	if got := roles(t, bo)["ann"]; got != "guest" {
		t.Fatalf("bo was told ann is %q", got)
	}
	if host.info().Role != "host" {
		t.Fatalf("the host is %q", host.info().Role)
	}
	// While a host is in, nobody becomes owner, not even someone new.
	o.join("standup", "cy", openGuest)
	host.room.leave(host)
	if ann.info().Role != PeerOwner || bo.info().Role != "guest" {
		t.Fatalf("after the host left: ann %q, bo %q", ann.info().Role, bo.info().Role)
	}
}

func TestAnOwnerPassTakesTheRoomOnlyFromWhoCameAfterIt(t *testing.T) {
	o := newOwnerRoom(t)
	// The creator asked for the room at 9:00:00; a stranger raced in first.
	creatorPass := o.clock.Now().UnixMilli()
	racer := o.join("standup", "racer", openGuest)
	withPass := openGuest
	withPass.OwnerPassMillis = creatorPass
	creator := o.join("standup", "creator", withPass)
	if creator.info().Role != PeerOwner || racer.info().Role != "guest" {
		t.Fatalf("creator %q, racer %q", creator.info().Role, racer.info().Role)
	}
	if got := roles(t, racer)["racer"]; got != "guest" {
		t.Fatalf("the racer was told they are %q", got)
	}
	// A pass asked for after the creator owned the room takes nothing.
	late := openGuest
	late.OwnerPassMillis = o.clock.Now().Add(time.Second).UnixMilli()
	o.clock.Advance(2 * time.Second)
	stranger := o.join("standup", "stranger", late)
	if stranger.info().Role != "guest" || creator.info().Role != PeerOwner {
		t.Fatalf("a later pass: stranger %q, creator %q", stranger.info().Role, creator.info().Role)
	}
	// Anyone may ask for a pass for any name: one asked for before the
	// creator's takes nothing from an owner who brought a pass (a stranger
	// holding passes for likely names would take every new meeting).
	older := openGuest
	older.OwnerPassMillis = creatorPass - 60_000
	if p := o.join("standup", "sniper", older); p.info().Role != "guest" || creator.info().Role != PeerOwner {
		t.Fatalf("an older pass: sniper %q, creator %q", p.info().Role, creator.info().Role)
	}
	// A pass is nothing without the gateway's word that its bearer may own.
	nope := accesstoken.Admission{Role: accesstoken.PeerGuest, OwnerPassMillis: creatorPass}
	if p := o.join("standup", "tokened", nope); p.info().Role != "guest" {
		t.Fatalf("a pass without may-own made %q", p.info().Role)
	}
}
