package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/testidp"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// On a user_auth site, a person without a token logs in through the
// provider from the room's page: carol (a host of every room) comes back a
// host; grace (in the participants' group) and dave (a host of retro only)
// come back to standup as participants under the provider's name for them;
// mallory (in no group the site names) is refused. A host's ban of grace
// holds her provider subject out after a new login from another address,
// and holds nobody else out; the API bans a subject too.
func TestIDPParticipantJoinsUnderTheProvidersNameAndABanHoldsItsSubject(t *testing.T) {
	t.Parallel()
	idp := testidp.Start(t, 0, idpUsers...)
	words := strings.Replace(idpWords(idp.Issuer), "label", "participants group attendees\n\t\t\tlabel", 1)
	s := newIDPSiteWith(t, idp, words, "user_auth\n\t\tapi_key "+apiKey)
	c := newIDPClient(t, s.port, "127.0.0.1")
	c.waitDiscovered(30 * time.Second)

	// Every login starts on standup's page (idpClient.begin).
	host := c.mustLogIn("carol", "carol-Pa55")
	hc := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{token: host})
	if hc.Welcome.Peer.Role != "host" {
		t.Fatalf("carol joined as %q", hc.Welcome.Peer.Role)
	}

	// participant logs user in from ip and returns the token the site
	// handed back in the fragment of the room's page.
	participant := func(ip, user, pass string) string {
		t.Helper()
		a, tok := newIDPClient(t, s.port, ip).logIn(user, pass)
		loc := a.header.Get("Location")
		if tok == "" || !strings.HasPrefix(loc, "/join/standup#peer_token=") {
			t.Fatalf("%s logging in to join: %d %q %s", user, a.status, loc, a.body)
		}
		if strings.Contains(strings.Join(a.header.Values("Set-Cookie"), "\n"), "__Host-roomgate_host=e") {
			t.Fatalf("%s, a participant, got the host cookie", user)
		}
		return tok
	}
	gtok := participant("127.0.0.2", "grace", "grace-Pa55")
	gp := s.person(t, "127.0.0.2")
	gc := gp.mustJoin("standup", joinOpts{token: gtok, name: "Not Grace"})
	if gc.Welcome.Peer.Role != "guest" || gc.Welcome.Peer.Name != "Grace Hopper" {
		t.Fatalf("grace joined as %q named %q", gc.Welcome.Peer.Role, gc.Welcome.Peer.Name)
	}
	if m := nextEvent(hc, signal.TypePeerJoined, 10*time.Second); m == nil || m.Peer == nil || m.Peer.Name != "Grace Hopper" {
		t.Fatalf("the host saw %+v join", m)
	}
	s.auditHas(t, "participant.login", map[string]any{"user": "grace", "room": "standup", "address": "127.0.0.2"})
	// Her token is standup's only.
	if a := gp.refusedSignal("retro", signalOpts{token: gtok}, http.StatusUnauthorized); a.errorCode() != "wrong_room" {
		t.Fatalf("grace's token in another room: %s", a.body)
	}
	// dave hosts retro, not standup: there he is a participant.
	dtok := participant("127.0.0.3", "dave", "dave-Pa55")
	if dc := s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{token: dtok}); dc.Welcome.Peer.Role != "guest" || dc.Welcome.Peer.Name != "dave" {
		t.Fatalf("dave joined standup as %q named %q", dc.Welcome.Peer.Role, dc.Welcome.Peer.Name)
	}
	// mallory is in no group the site names.
	a, tok := newIDPClient(t, s.port, "127.0.0.4").logIn("mallory", "mallory-Pa55")
	if tok != "" {
		t.Fatal("mallory got a token")
	}
	refusedWith(t, a, http.StatusForbidden, "not_allowed", "Your account at Acme SSO may not join meetings here")

	// The host removes grace with a ban: her provider subject stays out,
	// with a new login from another address.
	if err := hc.KickAndBan(gc.ID(), signal.Ban{}); err != nil {
		t.Fatal(err)
	}
	if m := nextEvent(gc, signal.TypeBye, 10*time.Second); m == nil || m.Reason != signal.ByeKicked {
		t.Fatalf("grace was told %+v", m)
	}
	again := participant("127.0.0.5", "grace", "grace-Pa55")
	var refused *signal.ErrRefused
	if _, err := s.person(t, "127.0.0.5").join("standup", joinOpts{token: again}); !errors.As(err, &refused) || refused.Code != "banned" {
		t.Fatalf("grace, banned, after a new login: %v", err)
	}
	// The ban is her subject's, not her address's: another person from
	// her first address still joins.
	etok := participant("127.0.0.2", "dave", "dave-Pa55")
	if dc := gp.mustJoin("standup", joinOpts{token: etok}); dc.Welcome.Peer.Name != "dave" {
		t.Fatalf("dave from grace's old address joined as %q", dc.Welcome.Peer.Name)
	}
	api := s.person(t, "127.0.0.1")
	if a := api.apiCall("GET", "/api/v1/bans", ""); !strings.Contains(string(a.body), `"identity":"idp:`+idp.Subject("grace")+`"`) {
		t.Fatalf("the ban list does not name grace's subject: %d %s", a.status, a.body)
	}
	// The API bans by the provider's subject too.
	if a := api.apiCall("POST", "/api/v1/bans", `{"idpSubject":"`+idp.Subject("dave")+`","roomName":"standup"}`); a.status != http.StatusCreated {
		t.Fatalf("banning dave's subject: %d %s", a.status, a.body)
	}
	later := participant("127.0.0.6", "dave", "dave-Pa55")
	if _, err := s.person(t, "127.0.0.6").join("standup", joinOpts{token: later}); !errors.As(err, &refused) || refused.Code != "banned" {
		t.Fatalf("dave, banned through the API, after a new login: %v", err)
	}
}
