package e2e

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
)

// Issue 26: a guest let in from the lobby and then removed by the host is
// not back in at once with what they were let in with (the lobby's pass,
// the rejoin pass): they are refused, knock again from the lobby, and are
// in only when a host admits them again.
func TestRemovedGuestStaysOutUntilAdmittedAgain(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	owner, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	if a := owner.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private","enableRequestToJoin":true}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	host := owner.mustJoin("board", joinOpts{token: owner.mintToken(`{"roomName":"board","isAdmin":true,"name":"Ada"}`)})

	// Kim knocks, waits, is let in, and holds a lobby pass and a rejoin pass.
	knock := guest.mustJoin("board", joinOpts{name: "Kim"})
	if !knock.InLobby() {
		t.Fatal("a guest without a token was not sent to the lobby")
	}
	lobbyEvent(t, host, 1)
	if err := host.Admit(knock.ID()); err != nil {
		t.Fatal(err)
	}
	pass, err := decision(knock)
	if err != nil || pass == "" {
		t.Fatalf("waiting for admission: %q %v", pass, err)
	}
	lobbyEvent(t, host, 0)
	kim := guest.mustJoin("board", joinOpts{token: pass})
	rejoin := kim.Welcome.Token
	if kim.Welcome.Peer.Role != "guest" || rejoin == "" {
		t.Fatalf("admitted guest welcomed as %+v, rejoin pass %q", kim.Welcome.Peer, rejoin)
	}

	// A newcomer waits in the lobby meanwhile.
	newcomer := s.person(t, "127.0.0.3").mustJoin("board", joinOpts{name: "Nia"})
	if !newcomer.InLobby() {
		t.Fatal("the newcomer was not sent to the lobby")
	}
	lobbyEvent(t, host, 1)

	// The host removes Kim.
	if err := host.Kick(kim.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-kim.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the removed guest's connection stayed open")
	}
	if b := kim.Bye(); b == nil || b.Reason != signal.ByeKicked {
		t.Fatalf("the removed guest was told %+v", b)
	}

	// Kim comes back at once with the same lobby pass and rejoin pass, and
	// with the lobby pass alone: not in the call, but refused. (Until the
	// gateway hears of the revoked pass, the media server refuses it; a try
	// cut while both happen is tried again.)
	for _, try := range []struct{ what, token, rejoin string }{
		{"lobby pass and rejoin pass", pass, rejoin},
		{"lobby pass", pass, ""},
	} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := guest.dialWithPass("board", try.token, try.rejoin)
			if err == nil {
				in := !c.InLobby()
				c.Close()
				if in {
					t.Fatalf("the removed guest, with their %s, is back in the call", try.what)
				}
				t.Fatalf("the removed guest, with their %s, was sent to the lobby with a pass", try.what)
			}
			var refused *signal.ErrRefused
			if errors.As(err, &refused) && refused.Code == "invalid_token" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the removed guest, with their %s: %v", try.what, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Without the pass Kim knocks like anyone; a host lets them in again,
	// and with the new pass they are in.
	again := guest.mustJoin("board", joinOpts{name: "Kim"})
	if !again.InLobby() {
		t.Fatal("the removed guest's knock was not sent to the lobby")
	}
	lobbyEvent(t, host, 2)
	if err := host.Admit(again.ID()); err != nil {
		t.Fatal(err)
	}
	pass2, err := decision(again)
	if err != nil || pass2 == "" {
		t.Fatalf("waiting for the second admission: %q %v", pass2, err)
	}
	back := guest.mustJoin("board", joinOpts{token: pass2})
	if back.Welcome.Peer.Role != "guest" {
		t.Fatalf("re-admitted guest welcomed as %+v", back.Welcome.Peer)
	}
}
