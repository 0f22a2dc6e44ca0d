package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReloadMidCallKeepsMediaAndLogins(t *testing.T) {
	t.Parallel()
	s, _ := newTURNSite(t, "quota 12", "host_protected")
	hostP := s.person(t, "127.0.0.1")
	tok := hostP.mustLogin("alice", password)
	host := hostP.mustJoin("standup", joinOpts{token: tok})
	// The guest's media goes through TURN: its relays must survive too.
	guest := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{relay: true})
	rh, rg := receive(host), receive(guest)
	publishAV(t, host)
	publishAV(t, guest)
	if !rh.hears(20, guest.ID()) || !rg.hears(20, host.ID()) {
		t.Fatal("no call before the reload")
	}

	// Reload the same config, then one with words of the gateway and of
	// TURN changed.
	cf := s.Caddyfile()
	changed := strings.Replace(cf, "host_protected", "host_protected\n\t\ttoken_ttl 2h", 1)
	changed = strings.Replace(changed, "quota 12", "quota 10", 1)
	for _, next := range []string{cf, changed} {
		if err := s.Reload(next); err != nil {
			t.Fatal(err)
		}
		before := rg.count(host.ID(), "video")
		if !rg.waitFor(5*time.Second, func() bool { return rg.count(host.ID(), "video") > before+50 }) {
			t.Fatal("media stopped at the reload")
		}
		select {
		case <-host.Done():
			t.Fatal("the host's signalling closed at the reload")
		case <-guest.Done():
			t.Fatal("the guest's signalling closed at the reload")
		default:
		}
		// The login survived: the host is still a host, and guests may still come.
		if h := hostP.mustJoin("standup", joinOpts{token: tok}); h.Welcome.Peer.Role != "host" {
			t.Fatalf("the host token now gives %q", h.Welcome.Peer.Role)
		}
		s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{})
	}
	if st := hostP.logout(tok); st != http.StatusNoContent {
		t.Fatalf("logout after reloads: %d", st)
	}
}
