package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHostProtectedGuestNeedsHostAndLogoutShutsTheDoor(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected", "")
	host, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")

	if a := guest.refusedSignal("standup", signalOpts{}, http.StatusForbidden); a.errorCode() != "host_absent" {
		t.Fatalf("guest before any host: %s", a.body)
	}
	// The page's check tells the browser it came before the host: a pass
	// it keeps (docs/gateway.md, "Who came before the host").
	early := earlyPass(t, guest, "standup")
	tok := host.mustLogin("alice", password)
	// Logging in alone opens no room: the host has to be in it.
	guest.refusedSignal("standup", signalOpts{}, http.StatusForbidden)

	hs := host.mustSignal("standup", signalOpts{token: tok})
	if hs.hello.Role != "host" || hs.hello.Room != "standup" {
		t.Fatalf("host admitted as %+v", hs.hello)
	}
	// The guest who came before the host waits in the lobby for the host
	// to let them in; someone who comes now is let in, from elsewhere or
	// from the early guest's own address (an office behind one address).
	if g := guest.mustSignal("standup", signalOpts{name: "Grace", header: early}); g.hello.Role != "lobby" {
		t.Fatalf("the early guest admitted as %+v", g.hello)
	}
	for _, p := range []*person{s.person(t, "127.0.0.3"), guest} {
		g := p.mustSignal("standup", signalOpts{name: "Gus"})
		if g.hello.Role != "guest" || g.hello.Name != "Gus" {
			t.Fatalf("guest from %s admitted as %+v", p.ip, g.hello)
		}
	}
	// Another room has no host.
	guest.refusedSignal("retro", signalOpts{}, http.StatusForbidden)

	if st := host.logout(tok); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	if err := hs.cutWith(5*time.Second, 4003, "session_ended"); err != nil {
		t.Fatalf("the host's WebSocket after logout: %v", err)
	}
	if a := guest.refusedSignal("standup", signalOpts{}, http.StatusForbidden); a.errorCode() != "host_absent" {
		t.Fatalf("new guest after logout: %s", a.body)
	}
	// The logged-out token opens nothing any more.
	host.refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized)
}

func TestHostLeavingEndsTheSessionAfterGrace(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected\n\t\thost_grace 1s", "")
	host, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	tok := host.mustLogin("alice", password)
	hs := host.mustSignal("standup", signalOpts{token: tok})
	guest.mustSignal("standup", signalOpts{})

	hs.conn.CloseNow()
	if !eventually(10*time.Second, func() bool {
		_, a := guest.signal("standup", signalOpts{})
		return a.status == http.StatusForbidden
	}) {
		t.Fatal("guests were still admitted long after the host left")
	}
	// The session is over: its token no longer makes anyone a host.
	if a := host.refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized); a.errorCode() != "session_ended" {
		t.Fatalf("host token after the grace: %s", a.body)
	}
}

func TestHostComingBackWithinGraceKeepsTheSession(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected\n\t\thost_grace 1m", "")
	host, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	tok := host.mustLogin("alice", password)
	host.mustSignal("standup", signalOpts{token: tok}).conn.CloseNow()
	// A page reload: the same login reconnects, and guests may still come.
	host.mustSignal("standup", signalOpts{token: tok})
	guest.mustSignal("standup", signalOpts{})
}

func TestHostTokenFromAnotherAddressHasNoHostRights(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected", "")
	host, thief := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	tok := host.mustLogin("alice", password)
	if a := thief.refusedSignal("standup", signalOpts{token: tok}, http.StatusForbidden); a.errorCode() != "wrong_address" {
		t.Fatalf("stolen host token: %s", a.body)
	}
	if a := thief.refusedSignal("standup", signalOpts{bearer: tok, origin: "-"}, http.StatusForbidden); a.errorCode() != "wrong_address" {
		t.Fatalf("stolen host token as Bearer: %s", a.body)
	}
	// The thief opened no room either.
	thief.refusedSignal("standup", signalOpts{}, http.StatusForbidden)
}

func TestForwardedForGivesNoHostRights(t *testing.T) {
	t.Parallel()
	spoof := http.Header{"X-Forwarded-For": {"127.0.0.1"}, "X-Real-Ip": {"127.0.0.1"}, "Forwarded": {"for=127.0.0.1"}}
	for _, tc := range []struct {
		name, global string
		honoured     bool
	}{
		{"no trusted proxies", "", false},
		{"trusted proxies elsewhere", "servers {\n\t\ttrusted_proxies static 10.0.0.0/8 192.168.0.0/16\n\t}", false},
		// The control: when 127.0.0.3 is a trusted proxy, Caddy resolves the
		// forwarded address and the gateway follows Caddy, as it should.
		{"127.0.0.3 is a trusted proxy", "servers {\n\t\ttrusted_proxies static 127.0.0.3/32\n\t}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := gatewaySite(t, "host_protected", tc.global)
			host, spoofer := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.3")
			tok := host.mustLogin("alice", password)
			if tc.honoured {
				if got := spoofer.mustSignal("standup", signalOpts{token: tok, header: spoof}); got.hello.Role != "host" {
					t.Fatalf("through a trusted proxy: %+v", got.hello)
				}
				return
			}
			spoofer.refusedSignal("standup", signalOpts{token: tok, header: spoof}, http.StatusForbidden)
			spoofer.refusedSignal("standup", signalOpts{header: spoof}, http.StatusForbidden)
		})
	}
}

// A room made with admitEarlyArrivals lets those who came before the host
// in at once when the host arrives.
func TestRoomThatAdmitsEarlyArrivals(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected", "")
	host, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	if a := host.apiCall("POST", "/api/v1/room", `{"roomName":"open","admitEarlyArrivals":true}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	guest.refusedSignal("open", signalOpts{}, http.StatusForbidden)
	// The check tells the waiting page what will happen: in at once.
	if a := guest.do("GET", "/ws?room=open", "", nil, nil); !strings.Contains(string(a.body), `"then":"join"`) {
		t.Fatalf("the check before the host: %d %s", a.status, a.body)
	}
	host.mustSignal("open", signalOpts{token: host.mustLogin("alice", password)})
	if g := guest.mustSignal("open", signalOpts{}); g.hello.Role != "guest" {
		t.Fatalf("an early arrival in a room that admits them: %+v", g.hello)
	}
}

// earlyPass asks the check, as the waiting page does, and returns the
// Cookie header with the early arrival's pass it was handed.
func earlyPass(t *testing.T, p *person, room string) http.Header {
	t.Helper()
	a := p.do("GET", "/ws?room="+room, "", nil, http.Header{"Origin": {p.base}})
	if a.status != http.StatusForbidden || a.errorCode() != "host_absent" || !strings.Contains(string(a.body), `"then":"lobby"`) {
		t.Fatalf("the check before the host: %d %s", a.status, a.body)
	}
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "roomgate_early_"+room {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Fatalf("the early pass's cookie: %s", c)
			}
			return http.Header{"Cookie": {c.Name + "=" + c.Value}}
		}
	}
	t.Fatalf("the check handed no early pass: %v", a.header)
	return nil
}
