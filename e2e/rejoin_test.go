package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
)

// dialWithPass joins room as a bare pion client with token (or none) and a
// rejoin pass.
func (p *person) dialWithPass(room, token, pass string) (*signal.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := signal.Dial(ctx, fmt.Sprintf("ws://localhost:%d/ws?room=%s", p.port, room), signal.DialOptions{
		Token:      token,
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
	if _, err := s.person(t, "127.0.0.3").dialWithPass("standup", "", goesPass); !errors.As(err, &refused) || refused.Code != "room_locked" {
		t.Fatalf("a removed member's pass: %v", err)
	}
	if _, err := s.person(t, "127.0.0.4").join("standup", joinOpts{}); !errors.As(err, &refused) || refused.Code != "room_locked" {
		t.Fatalf("a newcomer without a pass: %v", err)
	}
	if _, err := s.person(t, "127.0.0.2").dialWithPass("standup", "", staysPass); err != nil {
		t.Fatalf("a member coming back with their pass: %v", err)
	}
}

// A single-use link opened by two people at the same moment lets one in;
// that person coming back (with the rejoin pass the node gave them) uses
// nothing, and the link stays used for everyone else.
func TestSingleUseLinkRacedByTwo(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	admin := s.person(t, "127.0.0.1")
	link := admin.mintToken(`{"roomName":"standup","maxUses":1}`)
	type result struct {
		c   *signal.Client
		err error
	}
	results := make(chan result, 2)
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		go func() {
			c, err := s.person(t, ip).dialWithPass("standup", link, "")
			results <- result{c, err}
		}()
	}
	var in *signal.Client
	for range 2 {
		r := <-results
		var refused *signal.ErrRefused
		switch {
		case r.err == nil && in == nil:
			in = r.c
		case r.err == nil:
			t.Fatal("both people got in with a single-use link")
		case !errors.As(r.err, &refused) || refused.Status != http.StatusForbidden || refused.Code != "invitation_used":
			t.Fatalf("the second person: %v", r.err)
		}
	}
	if in == nil {
		t.Fatal("nobody got in with a fresh single-use link")
	}
	a := admin.api("/api/v1/token/validate", `{"token":"`+link+`"}`, nil)
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"usesLeft":0`) {
		t.Fatalf("validate of the used link: %d %s", a.status, a.body)
	}
	pass := in.Welcome.Token
	in.Close()
	if _, err := s.person(t, "127.0.0.2").dialWithPass("standup", link, pass); err != nil {
		t.Fatalf("the person who used the link, coming back with their pass: %v", err)
	}
	if _, err := s.person(t, "127.0.0.4").dialWithPass("standup", link, ""); err == nil {
		t.Fatal("a third person got in with the used link")
	}
}
