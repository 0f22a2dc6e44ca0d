package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
)

// dialWithPass joins room as a bare pion client offering a rejoin pass.
func (p *person) dialWithPass(room, pass string) (*signal.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := signal.Dial(ctx, fmt.Sprintf("ws://localhost:%d/ws?room=%s", p.port, room), signal.DialOptions{
		Rejoin:     pass,
		Header:     http.Header{"Origin": {p.base}},
		HTTPClient: &http.Client{Transport: transportFrom(p.ip, p.port)},
		API:        loopbackAPI(p.t, joinOpts{}),
	})
	if err == nil {
		p.t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// In one process too, a rejoin pass lets a member back into a room locked
// while they were in, and a member an admin removed is barred.
func TestRejoinPassOpensALockedRoomToMembersOnly(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	hostP := s.person(t, "127.0.0.1")
	host := hostP.mustJoin("standup", joinOpts{token: hostP.mustLogin("alice", password)})
	stays := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Stay"})
	goes := s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{name: "Go"})
	staysPass, goesPass := stays.Welcome.Token, goes.Welcome.Token
	if staysPass == "" || goesPass == "" {
		t.Fatal("the welcome carries no rejoin pass")
	}
	if err := host.Lock(true); err != nil {
		t.Fatal(err)
	}
	nextEvent(stays, signal.TypeRoom, 5*time.Second)
	if err := host.Kick(goes.ID()); err != nil {
		t.Fatal(err)
	}
	<-goes.Done()
	stays.Close()

	var refused *signal.ErrRefused
	if _, err := s.person(t, "127.0.0.3").dialWithPass("standup", goesPass); !errors.As(err, &refused) || refused.Code != "room_locked" {
		t.Fatalf("a removed member's pass: %v", err)
	}
	if _, err := s.person(t, "127.0.0.4").join("standup", joinOpts{}); !errors.As(err, &refused) || refused.Code != "room_locked" {
		t.Fatalf("a newcomer without a pass: %v", err)
	}
	if _, err := s.person(t, "127.0.0.2").dialWithPass("standup", staysPass); err != nil {
		t.Fatalf("a member coming back with their pass: %v", err)
	}
}
