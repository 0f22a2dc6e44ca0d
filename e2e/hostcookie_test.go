package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
)

// hostCookieOf returns the host cookie a login answer set, checking the
// attributes that keep it from scripts and other sites.
func hostCookieOf(t *testing.T, a answer) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "__Host-roomgate_host" {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
				t.Fatalf("host cookie attributes: %s", c.String())
			}
			return c
		}
	}
	t.Fatalf("no host cookie in %v", a.header.Values("Set-Cookie"))
	return nil
}

func withCookie(c *http.Cookie, h http.Header) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Cookie", c.Name+"="+c.Value+"; theme=dark")
	return h
}

// A browser that logged in is the host in any tab: the host cookie is its
// credential at the signalling path, from the address that logged in only;
// it never goes upstream; it logs out only from a page of the site; and a
// cookie whose login is over makes nobody a host.
func TestHostCookieCarriesTheLoginAcrossTabs(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected", "")
	host, other := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	a, tok := host.login("alice", password)
	cookie := hostCookieOf(t, a)
	if cookie.Value != tok {
		t.Fatal("the cookie holds something other than the host token")
	}

	who := host.do("GET", "/session", "", nil, withCookie(cookie, nil))
	if who.status != http.StatusOK || !strings.Contains(string(who.body), `"user":"alice"`) {
		t.Fatalf("/session with the cookie: %d %s", who.status, who.body)
	}
	if a := host.do("GET", "/session", "", nil, nil); a.status != http.StatusUnauthorized || a.errorCode() != "not_logged_in" {
		t.Fatalf("/session with nothing: %d %s", a.status, a.body)
	}
	// A guest's token names nobody logged in.
	guest := mintPeer(t, accesstoken.Claims{Room: "standup"})
	if a := host.do("GET", "/session", "", nil, http.Header{"Authorization": {"Bearer " + guest}}); a.status != http.StatusUnauthorized || a.errorCode() != "not_logged_in" {
		t.Fatalf("/session with a guest's token: %d %s", a.status, a.body)
	}
	// The same cookie from another address (a stolen cookie) is no host.
	if a := other.do("GET", "/session", "", nil, withCookie(cookie, nil)); a.status != http.StatusForbidden {
		t.Fatalf("/session from another address: %d %s", a.status, a.body)
	}
	if a := other.refusedSignal("standup", signalOpts{header: withCookie(cookie, nil)}, http.StatusForbidden); a.errorCode() != "wrong_address" {
		t.Fatalf("the cookie from another address: %s", a.body)
	}

	// A second tab brings only the cookie, and is the host.
	hs := host.mustSignal("standup", signalOpts{header: withCookie(cookie, nil)})
	if hs.hello.Role != "host" {
		t.Fatalf("with the cookie: admitted as %+v", hs.hello)
	}
	reqs := s.upstream.requests()
	last := reqs[len(reqs)-1]
	if c := last.Get("Cookie"); strings.Contains(c, tok) || c != "theme=dark" {
		t.Fatalf("the upstream got the cookie header %q", c)
	}
	// A link's token in the tab wins over the cookie.
	guestTok := mintPeer(t, accesstoken.Claims{Room: "standup"})
	if g := host.mustSignal("standup", signalOpts{token: guestTok, header: withCookie(cookie, nil)}); g.hello.Role != "guest" {
		t.Fatalf("a link's token with the cookie: admitted as %+v", g.hello)
	}

	// Another site's page cannot log out with the cookie, nor can a request
	// without an Origin; the site's own page can, and the cookie goes.
	if a := host.do("POST", "/logout", "", nil, withCookie(cookie, http.Header{"Origin": {"https://evil.example"}})); a.status != http.StatusUnauthorized {
		t.Fatalf("logout from another origin: %d %s", a.status, a.body)
	}
	if a := host.do("POST", "/logout", "", nil, withCookie(cookie, nil)); a.status != http.StatusUnauthorized {
		t.Fatalf("logout with the cookie and no Origin: %d %s", a.status, a.body)
	}
	if !hs.echoes() {
		t.Fatal("a refused logout cut the host")
	}
	out := host.do("POST", "/logout", "", nil, withCookie(cookie, http.Header{"Origin": {host.base}}))
	if out.status != http.StatusNoContent {
		t.Fatalf("logout from the site's page: %d %s", out.status, out.body)
	}
	if !clearsHostCookie(out) {
		t.Fatalf("logout left the cookie: %v", out.header.Values("Set-Cookie"))
	}
	if err := hs.cutWith(5*time.Second, 4003, "session_ended"); err != nil {
		t.Fatalf("the host's connection after logout: %v", err)
	}

	if a := host.do("GET", "/session", "", nil, withCookie(cookie, nil)); a.status != http.StatusUnauthorized || !clearsHostCookie(a) {
		t.Fatalf("/session with the dead cookie: %d %s %v", a.status, a.body, a.header.Values("Set-Cookie"))
	}
	// The browser still sends the dead cookie: it makes nobody a host, the
	// check answers as for anyone (no host: wait) and tells it to forget it.
	check := host.do("GET", "/ws?room=standup", "", nil, withCookie(cookie, nil))
	if check.status != http.StatusForbidden || check.errorCode() != "host_absent" || !clearsHostCookie(check) {
		t.Fatalf("the check with a dead cookie: %d %s %v", check.status, check.body, check.header.Values("Set-Cookie"))
	}
}

func clearsHostCookie(a answer) bool {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "__Host-roomgate_host" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}
