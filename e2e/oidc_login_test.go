package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/internal/testidp"
)

// waitDiscovered waits until the site has discovered its provider: the
// button leads there.
func (c *idpClient) waitDiscovered(d time.Duration) {
	c.t.Helper()
	if !eventually(d, func() bool { return c.get(siteURL(c.port, "/login/oidc"), nil).status == http.StatusSeeOther }) {
		c.t.Fatal("the site never reached its identity provider")
	}
}

// logIn logs user in through the provider and returns the host token the
// site handed back (in the fragment of where it sends the browser).
func (c *idpClient) logIn(user, pass string) (answer, string) {
	c.t.Helper()
	ck, auth := c.begin()
	a := c.get(c.signIn(auth, user, pass), ck)
	loc, _ := url.Parse(a.header.Get("Location"))
	if a.status != http.StatusSeeOther || loc == nil {
		return a, ""
	}
	frag, _ := url.ParseQuery(loc.Fragment)
	return a, frag.Get("peer_token")
}

func (c *idpClient) mustLogIn(user, pass string) string {
	c.t.Helper()
	a, tok := c.logIn(user, pass)
	if tok == "" {
		c.t.Fatalf("%s logging in: %d %s", user, a.status, a.body)
	}
	return tok
}

// Whom the provider vouches for and the operator's rule allows is a host,
// as after a password login: bound to the address, for the rooms the
// person's group allows; a guest may then join. Whom the rule does not
// allow is refused, and told why.
func TestIDPLoginMakesAHostOfWhomTheRuleAllows(t *testing.T) {
	t.Parallel()
	idp := testidp.Start(t, 0, idpUsers...)
	s := newIDPSite(t, idp, idp.Issuer, "host_protected")
	c := newIDPClient(t, s.port, "127.0.0.1")
	c.waitDiscovered(30 * time.Second)

	a, tok := c.logIn("carol", "carol-Pa55")
	if tok == "" {
		t.Fatalf("carol: %d %s", a.status, a.body)
	}
	if loc := a.header.Get("Location"); !strings.HasPrefix(loc, "/login?next=%2Fjoin%2Fstandup#peer_token=") {
		t.Fatalf("after the login the browser goes to %q", loc)
	}
	if !strings.Contains(strings.Join(a.header.Values("Set-Cookie"), "\n"), "__Host-roomgate_host=") {
		t.Fatal("the login set no host cookie: other tabs would not be the host's")
	}
	host := s.person(t, "127.0.0.1")
	if a := host.do("GET", "/session", "", nil, http.Header{"Authorization": {"Bearer " + tok}}); a.status != http.StatusOK || !strings.Contains(string(a.body), `"user":"carol"`) {
		t.Fatalf("session: %d %s", a.status, a.body)
	}
	hc := host.mustJoin("standup", joinOpts{token: tok})
	if hc.Welcome.Peer.Role != "host" || hc.Welcome.Peer.Name != "Carol Host" {
		t.Fatalf("carol joined as %q named %q", hc.Welcome.Peer.Role, hc.Welcome.Peer.Name)
	}
	guest := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Gus"})
	if guest.Welcome.Peer.Role != "guest" {
		t.Fatalf("the guest joined as %q", guest.Welcome.Peer.Role)
	}
	// The login is the address's: the token elsewhere is refused.
	if a := s.person(t, "127.0.0.2").refusedSignal("retro", signalOpts{token: tok}, http.StatusForbidden); a.errorCode() != "wrong_address" {
		t.Fatalf("carol's token from another address: %s", a.errorCode())
	}
	s.auditHas(t, "host.login", map[string]any{"user": "carol", "address": "127.0.0.1"})

	// dave's group may open retro only.
	d := newIDPClient(t, s.port, "127.0.0.3")
	dtok := d.mustLogIn("dave", "dave-Pa55")
	if a := s.person(t, "127.0.0.3").refusedSignal("board", signalOpts{token: dtok}, http.StatusForbidden); a.errorCode() != "room_not_allowed" {
		t.Fatalf("dave in a room his group may not open: %s", a.errorCode())
	}
	if dc := s.person(t, "127.0.0.3").mustJoin("retro", joinOpts{token: dtok}); dc.Welcome.Peer.Role != "host" {
		t.Fatalf("dave joined retro as %q", dc.Welcome.Peer.Role)
	}
	// frank's verified address is at the allowed domain.
	newIDPClient(t, s.port, "127.0.0.4").mustLogIn("frank", "frank-Pa55")

	// mallory is in no allowed group and at no allowed domain; erin's
	// address is at the allowed domain, but the provider never verified it.
	for _, who := range []struct{ user, pass string }{{"mallory", "mallory-Pa55"}, {"erin", "erin-Pa55"}} {
		a, tok := newIDPClient(t, s.port, "127.0.0.5").logIn(who.user, who.pass)
		if tok != "" {
			t.Fatalf("%s became a host", who.user)
		}
		refusedWith(t, a, http.StatusForbidden, "not_allowed", "Your account at Acme SSO may not host meetings here")
		s.auditHas(t, "host.login_failed", map[string]any{"user": who.user, "rule": "not_allowed", "address": "127.0.0.5"})
	}
	// Logging out ends it as it ends a password's: the host's connections
	// are cut, the token opens nothing.
	if st := host.logout(tok); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	select {
	case <-hc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("carol's call goes on after her logout")
	}
	host.refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized)
	s.auditHas(t, "host.logout", map[string]any{"user": "carol", "address": "127.0.0.1"})

	if logs := s.Logs(); strings.Contains(logs, testidp.ClientSecret) || strings.Contains(logs, tok) {
		t.Fatal("the client secret or a token reached the logs")
	}
}

// A callback that is not the answer to this browser's own login, or that
// carries an ID token the provider's keys and this login do not vouch
// for, opens no session, says why, and is audited. The forged tokens are
// delivered the only way a real relying party meets them: in the real
// provider's answer to a real code exchange (testidp.Forge replaces the ID
// token in it), after a real login through the provider's form, so that
// nothing but the token differs from a login that works.
func TestIDPHostileCallbacksAreRefusedAndAudited(t *testing.T) {
	t.Parallel()
	idp := testidp.Start(t, 0, idpUsers...)
	s := newIDPSite(t, idp, idp.Issuer, "host_protected")
	c := newIDPClient(t, s.port, "127.0.0.1")
	c.waitDiscovered(30 * time.Second)

	// The same callback twice: the browser's, then a replay with the
	// cookie copied.
	ck, auth := c.begin()
	cb := c.signIn(auth, "carol", "carol-Pa55")
	if a := c.get(cb, ck); a.status != http.StatusSeeOther {
		t.Fatalf("the first callback: %d %s", a.status, a.body)
	}
	refusedWith(t, c.get(cb, ck), http.StatusBadRequest, "login_used", "already used")
	s.auditHas(t, "host.login_failed", map[string]any{"rule": "login_used", "address": "127.0.0.1"})

	// A callback in a browser that started no login (a victim sent the
	// attacker's callback), with another login's state, or none.
	ck, auth = c.begin()
	cb = c.signIn(auth, "carol", "carol-Pa55")
	refusedWith(t, c.get(cb, nil), http.StatusBadRequest, "login_expired", "started in another browser")
	other, _ := c.begin()
	refusedWith(t, c.get(cb, other), http.StatusBadRequest, "state_mismatch", "not for the login this browser started")
	u, _ := url.Parse(cb)
	q := u.Query()
	q.Del("state")
	u.RawQuery = q.Encode()
	refusedWith(t, c.get(u.String(), ck), http.StatusBadRequest, "state_mismatch", "not for the login this browser started")
	s.auditHas(t, "host.login_failed", map[string]any{"rule": "login_expired"})
	s.auditHas(t, "host.login_failed", map[string]any{"rule": "state_mismatch"})

	// The provider's own refusal (the person said no), in this browser's
	// login; then a code the provider never gave.
	ck, auth = c.begin()
	cb = c.signIn(auth, "carol", "carol-Pa55")
	u, _ = url.Parse(cb)
	q = u.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	u.RawQuery = q.Encode()
	refusedWith(t, c.get(u.String(), ck), http.StatusUnauthorized, "idp_refused", "did not log you in")
	ck, auth = c.begin()
	cb = c.signIn(auth, "carol", "carol-Pa55")
	u, _ = url.Parse(cb)
	q = u.Query()
	q.Set("code", "a-code-the-provider-never-gave")
	u.RawQuery = q.Encode()
	refusedWith(t, c.get(u.String(), ck), http.StatusUnauthorized, "idp_refused", "did not log you in")
	s.auditHas(t, "host.login_failed", map[string]any{"rule": "idp_refused"})

	now := time.Now()
	for _, tc := range []struct {
		name  string
		forge func(jwt.MapClaims) string
	}{
		{"the nonce of another login", func(c jwt.MapClaims) string { c["nonce"] = "another-login"; return idp.Sign(c) }},
		{"another issuer", func(c jwt.MapClaims) string { c["iss"] = "http://127.0.0.1:1/other"; return idp.Sign(c) }},
		{"another audience", func(c jwt.MapClaims) string {
			c["aud"], c["azp"] = []string{"someone-else"}, "someone-else"
			return idp.Sign(c)
		}},
		{"another authorized party", func(c jwt.MapClaims) string {
			c["aud"], c["azp"] = []string{testidp.ClientID, "someone-else"}, "someone-else"
			return idp.Sign(c)
		}},
		{"several audiences and no azp", func(c jwt.MapClaims) string {
			c["aud"] = []string{testidp.ClientID, "someone-else"}
			delete(c, "azp")
			return idp.Sign(c)
		}},
		{"expired", func(c jwt.MapClaims) string {
			c["exp"], c["iat"] = now.Add(-5*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
			return idp.Sign(c)
		}},
		{"issued before the login began", func(c jwt.MapClaims) string { c["iat"] = now.Add(-time.Hour).Unix(); return idp.Sign(c) }},
		{"issued in the future", func(c jwt.MapClaims) string { c["iat"] = time.Now().Add(time.Hour).Unix(); return idp.Sign(c) }},
		{"no issue time", func(c jwt.MapClaims) string { delete(c, "iat"); return idp.Sign(c) }},
		{"alg none", idp.SignNone},
		{"HMAC keyed with the provider's public key", idp.SignHMACWithPublicKey},
		{"signed with a key the provider never published", idp.SignWithStrangerKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.Forge(tc.forge)
			defer idp.Forge(nil)
			before := idp.Tokens.Load()
			a, tok := newIDPClient(t, s.port, "127.0.0.6").logIn("carol", "carol-Pa55")
			if idp.Tokens.Load() == before {
				t.Fatal("the site never exchanged the code: the forged token was not what it refused")
			}
			if tok != "" {
				t.Fatal("a forged ID token made a host")
			}
			refusedWith(t, a, http.StatusUnauthorized, "id_token_invalid", "could not be verified")
		})
	}
	s.auditHas(t, "host.login_failed", map[string]any{"rule": "id_token_invalid", "address": "127.0.0.6"})

	// Nothing of it opened a session: one login in all, the first.
	b := s.Logs()
	if n := strings.Count(b, `"host logged in"`); n != 1 {
		t.Fatalf("%d host sessions were opened", n)
	}
	// The unforged login still works afterwards.
	newIDPClient(t, s.port, "127.0.0.7").mustLogIn("carol", "carol-Pa55")
}

// A provider out of reach when the site starts does not stop it: logins
// answer that the provider is unreachable, the log says so, and the site
// keeps trying until the provider answers.
func TestIDPUnreachableAtStartIsRetried(t *testing.T) {
	t.Parallel()
	port := caddyrun.FreePort(t)
	issuer := "http://127.0.0.1:" + strconv.Itoa(port)
	s := newIDPSite(t, nil, issuer, "")
	c := newIDPClient(t, s.port, "127.0.0.1")
	a := c.get(siteURL(s.port, "/login/oidc"), nil)
	refusedWith(t, a, http.StatusServiceUnavailable, "idp_unreachable", "The identity provider is unreachable")
	if a.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if page := c.get(siteURL(s.port, "/login"), nil); !strings.Contains(string(page.body), "Log in with Acme SSO") || strings.Contains(string(page.body), `id="password"`) {
		t.Fatalf("the login page, with no user lines, should offer the provider only:\n%s", page.body)
	}
	if !eventually(20*time.Second, func() bool {
		return strings.Contains(s.Logs(), "the identity provider cannot be reached")
	}) {
		t.Fatalf("the log does not say the provider is unreachable:\n%s", s.Logs())
	}
	idp := testidp.Start(t, port, idpUsers...)
	c.waitDiscovered(90 * time.Second)
	c.mustLogIn("carol", "carol-Pa55")

	// The provider goes away between its form and the callback: the code
	// cannot be exchanged, and the page says why.
	ck, auth := c.begin()
	cb := c.signIn(auth, "carol", "carol-Pa55")
	idp.Close()
	refusedWith(t, c.get(cb, ck), http.StatusServiceUnavailable, "idp_unreachable", "The identity provider is unreachable")
}
