package e2e

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/testidp"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// A host who logged in through the identity provider is banned by who the
// provider says they are, its subject, not only by the name it gave (a
// name its users may be able to change): the ban cuts the host's call and
// holds after a new login. A ban by that name holds too. Before, such a
// host was known to bans only as user:<name>: banned by subject, they
// stayed in and came back.
func TestIDPHostIsBannedByTheProvidersSubject(t *testing.T) {
	t.Parallel()
	idp := testidp.Start(t, 0, idpUsers...)
	s := newIDPSite(t, idp, idp.Issuer, "host_protected\n\t\tapi_key "+apiKey)
	c := newIDPClient(t, s.port, "127.0.0.1")
	c.waitDiscovered(30 * time.Second)
	api := s.person(t, "127.0.0.2")

	tok := c.mustLogIn("carol", "carol-Pa55")
	hc := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{token: tok})
	if hc.Welcome.Peer.Role != "host" {
		t.Fatalf("carol joined as %q", hc.Welcome.Peer.Role)
	}
	if a := api.apiCall("POST", "/api/v1/bans", `{"idpSubject":"`+idp.Subject("carol")+`"}`); a.status != http.StatusCreated {
		t.Fatalf("banning carol's subject: %d %s", a.status, a.body)
	}
	select {
	case <-hc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("carol's call goes on after a ban of her subject")
	}
	var refused *signal.ErrRefused
	again := newIDPClient(t, s.port, "127.0.0.3").mustLogIn("carol", "carol-Pa55")
	if _, err := s.person(t, "127.0.0.3").join("standup", joinOpts{token: again}); !errors.As(err, &refused) || refused.Code != "banned" {
		t.Fatalf("carol, banned by subject, after a new login from another address: %v", err)
	}

	// dave is banned by the name the provider gave: that holds too, and
	// cuts his call.
	dtok := newIDPClient(t, s.port, "127.0.0.4").mustLogIn("dave", "dave-Pa55")
	dc := s.person(t, "127.0.0.4").mustJoin("retro", joinOpts{token: dtok})
	if a := api.apiCall("POST", "/api/v1/bans", `{"username":"dave","roomName":"retro"}`); a.status != http.StatusCreated {
		t.Fatalf("banning dave's name: %d %s", a.status, a.body)
	}
	select {
	case <-dc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("dave's call goes on after a ban of his name")
	}
	if _, err := s.person(t, "127.0.0.4").join("retro", joinOpts{token: dtok}); !errors.As(err, &refused) || refused.Code != "banned" {
		t.Fatalf("dave, banned by name: %v", err)
	}
}
