package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSignalCheckAnswersWhatAnUpgradeWouldMeet(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected", "")
	host, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	if a := guest.do("GET", "/ws?room=standup", "", nil, nil); a.status != http.StatusForbidden || a.errorCode() != "host_absent" {
		t.Fatalf("check before the host: %d %s", a.status, a.body)
	}
	tok := host.mustLogin("alice", password)
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	a := host.do("GET", "/ws?room=standup&name=Al", "", nil, bearer)
	var got struct{ Room, Role, Name string }
	if a.status != http.StatusOK || json.Unmarshal(a.body, &got) != nil || got.Role != "host" || got.Name != "Al" {
		t.Fatalf("host check: %d %s", a.status, a.body)
	}
	// The check admits nobody: the room is still without a host.
	if a := guest.do("GET", "/ws?room=standup", "", nil, nil); a.status != http.StatusForbidden {
		t.Fatalf("the check opened the room: %d", a.status)
	}
	if a := guest.do("GET", "/ws?room=standup", "", nil, bearer); a.errorCode() != "wrong_address" {
		t.Fatalf("host token from elsewhere: %d %s", a.status, a.body)
	}
	if a := guest.do("GET", "/ws?room=standup", "", nil, http.Header{"Origin": {"http://evil.example"}}); a.errorCode() != "bad_origin" {
		t.Fatalf("cross-origin check: %d %s", a.status, a.body)
	}
	if len(s.upstream.requests()) != 0 {
		t.Fatal("a check reached the upstream")
	}
}

func TestPagesAreServedWithTheirSettings(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected\n\t\tsignal_path /ws", "")
	p := s.person(t, "127.0.0.2")
	for path, want := range map[string]string{
		"/":                 `data-host-protected="true"`,
		"/login":            `id="login"`,
		"/join/standup":     `data-room="standup"`,
		"/join?room=retro":  `data-room="retro"`,
		"/assets/room.js":   "takeFragmentToken",
		"/assets/style.css": "--accent",
	} {
		a := p.do("GET", path, "", nil, nil)
		if a.status != http.StatusOK || !strings.Contains(string(a.body), want) {
			t.Errorf("%s: %d, want %q in the body", path, a.status, want)
		}
		if strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".css") {
			continue
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
	}
	for _, path := range []string{"/join/a%20b", "/join?room=../x"} {
		if a := p.do("GET", path, "", nil, nil); a.status != http.StatusNotFound {
			t.Errorf("%s: %d; want 404", path, a.status)
		}
	}
	// A path that is nobody's gets a page that says so, and the way home.
	for _, path := range []string{"/nope", "/assets2/x", "/.env"} {
		a := p.do("GET", path, "", nil, nil)
		if a.status != http.StatusNotFound || !strings.Contains(string(a.body), `data-state="not-found"`) || !strings.Contains(string(a.body), `href="/"`) {
			t.Errorf("%s: %d %q; want the not-found page", path, a.status, a.body)
		}
	}
}

func TestJoinLinkMovesCredentialsIntoTheFragment(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "", "")
	p := s.person(t, "127.0.0.1")

	a := p.do("GET", "/join?room=standup&name=Ann&audio=0&token=abc.def.ghi", "", nil, nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/join/standup?audio=0&name=Ann#peer_token=abc.def.ghi" {
		t.Fatalf("token link: %d %q", a.status, a.header.Get("Location"))
	}
	if len(a.body) != 0 {
		t.Fatal("the 303 has a body that repeats the token")
	}

	a = p.do("GET", "/join?"+url.Values{"room": {"standup"}, "username": {"alice"}, "password": {password}}.Encode(), "", nil, nil)
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/join/standup#peer_token=") ||
		strings.Contains(loc, "alice") || strings.Contains(loc, password) {
		t.Fatalf("credentials link: %d %q", a.status, loc)
	}
	tok := strings.TrimPrefix(loc, "/join/standup#peer_token=")
	if h := p.mustSignal("standup", signalOpts{token: tok}); h.hello.Role != "host" {
		t.Fatalf("the link's token joins as %q", h.hello.Role)
	}

	a = p.do("GET", "/join?"+url.Values{"room": {"standup"}, "username": {"alice"}, "password": {"wrong"}}.Encode(), "", nil, nil)
	loc = a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?") || strings.Contains(loc, "wrong") || !strings.Contains(loc, "invalid_credentials") {
		t.Fatalf("wrong credentials link: %d %q", a.status, loc)
	}
}
