package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/internal/redisrun"
	"github.com/roomgate/roomgate/internal/testidp"
)

// The test provider (zitadel's op) sends no back-channel logout tokens:
// each test makes one with the provider's own signing key
// (testidp.LogoutClaims, Sign) and POSTs it as the provider would.

// backchannelLogout POSTs a logout token to the site's back-channel
// logout URL from the provider's address (127.0.0.1).
func backchannelLogout(t testing.TB, port int, token string) answer {
	t.Helper()
	return backchannelLogoutFrom(t, "127.0.0.1", port, token)
}

func backchannelLogoutFrom(t testing.TB, ip string, port int, token string) answer {
	t.Helper()
	return newPerson(t, ip, port).do("POST", "/login/oidc/backchannel-logout",
		"application/x-www-form-urlencoded", strings.NewReader(url.Values{"logout_token": {token}}.Encode()), nil)
}

// auditCount is how many audit lines of event have every field of want.
func (s *idpSite) auditCount(event string, want map[string]any) int {
	b, _ := os.ReadFile(s.audit)
	n := 0
next:
	for _, l := range strings.Split(string(b), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil || e["msg"] != event {
			continue
		}
		for k, v := range want {
			if e[k] != v {
				continue next
			}
		}
		n++
	}
	return n
}

// A logout token anyone could forge is refused and audited, and the host's
// call goes on; the provider's own ends every login of that person (not
// another person's) and cuts the call; the same token again is refused;
// an address that keeps sending forgeries is held back.
func TestIDPBackchannelLogoutRefusesForgeriesAndEndsTheHostsLogins(t *testing.T) {
	t.Parallel()
	idp := testidp.Start(t, 0, idpUsers...)
	s := newIDPSite(t, idp, idp.Issuer, "host_protected")
	c := newIDPClient(t, s.port, "127.0.0.1")
	c.waitDiscovered(30 * time.Second)
	tok := c.mustLogIn("carol", "carol-Pa55")
	host := s.person(t, "127.0.0.1")
	call := host.mustJoin("standup", joinOpts{token: tok})
	ftok := newIDPClient(t, s.port, "127.0.0.4").mustLogIn("frank", "frank-Pa55")

	sub := idp.Subject("carol")
	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := idp.LogoutClaims(sub, "")
		edit(c)
		return c
	}
	forged := []struct{ what, token string }{
		{"signed with another key", idp.SignWithStrangerKey(idp.LogoutClaims(sub, ""))},
		{"unsigned (alg none)", idp.SignNone(idp.LogoutClaims(sub, ""))},
		{"HMAC-signed with the public key", idp.SignHMACWithPublicKey(idp.LogoutClaims(sub, ""))},
		{"with a nonce (an ID token)", idp.Sign(with(func(c jwt.MapClaims) { c["nonce"] = "n-0123" }))},
		{"without the events claim", idp.Sign(with(func(c jwt.MapClaims) { delete(c, "events") }))},
		{"with another event", idp.Sign(with(func(c jwt.MapClaims) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		}))},
		{"for another client", idp.Sign(with(func(c jwt.MapClaims) { c["aud"] = "another-client" }))},
		{"from another issuer", idp.Sign(with(func(c jwt.MapClaims) { c["iss"] = "http://127.0.0.1:1" }))},
		{"expired", idp.Sign(with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))},
		{"issued an hour ago", idp.Sign(with(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(-time.Hour).Unix() }))},
		{"without a jti", idp.Sign(with(func(c jwt.MapClaims) { delete(c, "jti") }))},
		{"naming nobody (no sub, no sid)", idp.Sign(with(func(c jwt.MapClaims) { delete(c, "sub") }))},
	}
	for _, f := range forged {
		a := backchannelLogout(t, s.port, f.token)
		if a.status != http.StatusBadRequest || a.errorCode() != "logout_token_invalid" {
			t.Fatalf("a logout token %s: %d %s", f.what, a.status, a.body)
		}
	}
	if !eventually(10*time.Second, func() bool {
		return s.auditCount("host.idp_logout", map[string]any{"rule": "logout_token_invalid", "address": "127.0.0.1"}) == len(forged)
	}) {
		t.Fatalf("%d forged logout tokens, %d audited", len(forged), s.auditCount("host.idp_logout", map[string]any{"rule": "logout_token_invalid"}))
	}
	select {
	case <-call.Done():
		t.Fatal("a forged logout token ended carol's call")
	default:
	}
	if a := host.do("GET", "/session", "", nil, http.Header{"Authorization": {"Bearer " + tok}}); a.status != http.StatusOK {
		t.Fatalf("carol's login after the forgeries: %d %s", a.status, a.body)
	}

	// The provider's own token: carol's login ends, her call is cut.
	real := idp.Sign(idp.LogoutClaims(sub, ""))
	if a := backchannelLogout(t, s.port, real); a.status != http.StatusOK {
		t.Fatalf("the provider's logout token: %d %s", a.status, a.body)
	}
	select {
	case <-call.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("carol's call goes on after the provider logged her out")
	}
	if a := host.refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized); a.errorCode() != "session_ended" {
		t.Fatalf("carol's token after the provider logged her out: %s", a.body)
	}
	s.auditHas(t, "host.idp_logout", map[string]any{"rule": "ok", "sessions": float64(1)})
	s.auditHas(t, "host.logout", map[string]any{"user": "carol"})
	// frank is another person at the provider: still logged in.
	if a := s.person(t, "127.0.0.4").do("GET", "/session", "", nil, http.Header{"Authorization": {"Bearer " + ftok}}); a.status != http.StatusOK {
		t.Fatalf("frank's login after carol's logout: %d %s", a.status, a.body)
	}

	// The same token again is a replay.
	if a := backchannelLogout(t, s.port, real); a.status != http.StatusBadRequest || a.errorCode() != "logout_token_replayed" {
		t.Fatalf("the logout token replayed: %d %s", a.status, a.body)
	}
	s.auditHas(t, "host.idp_logout", map[string]any{"rule": "logout_token_replayed"})
	// Someone who keeps sending forgeries is held back: each makes the
	// gateway fetch the provider's keys again.
	flood := idp.SignWithStrangerKey(idp.LogoutClaims(sub, ""))
	for i := range 20 {
		if a := backchannelLogoutFrom(t, "127.0.0.9", s.port, flood); a.status != http.StatusBadRequest {
			t.Fatalf("forgery %d of a flood: %d %s", i+1, a.status, a.body)
		}
	}
	if a := backchannelLogoutFrom(t, "127.0.0.9", s.port, flood); a.status != http.StatusTooManyRequests || a.errorCode() != "too_many_attempts" {
		t.Fatalf("the 21st forgery from one address: %d %s", a.status, a.body)
	}
	s.auditHas(t, "host.idp_logout", map[string]any{"rule": "too_many_attempts", "address": "127.0.0.9"})
	// Only a POST takes a logout token.
	if a := newPerson(t, "127.0.0.1", s.port).do("GET", "/login/oidc/backchannel-logout?logout_token="+real, "", nil, nil); a.status != http.StatusMethodNotAllowed {
		t.Fatalf("a logout token by GET: %d %s", a.status, a.body)
	}
}

// The provider's logout token, taken by one gateway, ends the person's
// logins made on each gateway of the site and cuts the calls each holds,
// with the words of a logout; the token replayed on the other is refused.
func TestClusterIDPBackchannelLogoutCutsTheHostOnEveryGateway(t *testing.T) {
	redis := redisrun.Start(t)
	idp := testidp.Start(t, 0, idpUsers...)
	g1 := idpClusterGateway(t, redis.Addr, idp.Issuer)
	g2 := idpClusterGateway(t, redis.Addr, idp.Issuer)
	c1, c2 := newIDPClient(t, g1.port, "127.0.0.1"), newIDPClient(t, g2.port, "127.0.0.1")
	c1.waitDiscovered(30 * time.Second)
	c2.waitDiscovered(30 * time.Second)
	tok1, tok2 := c1.mustLogIn("carol", "carol-Pa55"), c2.mustLogIn("carol", "carol-Pa55")
	hs1 := g1.person(t, "127.0.0.1").mustSignal("standup", signalOpts{token: tok1})
	hs2 := g2.person(t, "127.0.0.1").mustSignal("retro", signalOpts{token: tok2})
	if hs1.hello.Role != "host" || hs2.hello.Role != "host" {
		t.Fatalf("carol is %q through gateway 1, %q through gateway 2", hs1.hello.Role, hs2.hello.Role)
	}

	real := idp.Sign(idp.LogoutClaims(idp.Subject("carol"), ""))
	if a := backchannelLogout(t, g2.port, real); a.status != http.StatusOK {
		t.Fatalf("the provider's logout token on gateway 2: %d %s", a.status, a.body)
	}
	for i, hs := range []*signalling{hs1, hs2} {
		if err := hs.cutWith(10*time.Second, 4003, "session_ended"); err != nil {
			t.Fatalf("carol's call through gateway %d: %v", i+1, err)
		}
	}
	for i, g := range []*site{g1, g2} {
		for _, tok := range []string{tok1, tok2} {
			if a := g.person(t, "127.0.0.1").refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized); a.errorCode() != "session_ended" {
				t.Fatalf("a logged-out token through gateway %d: %s", i+1, a.body)
			}
		}
	}
	if a := backchannelLogout(t, g1.port, real); a.status != http.StatusBadRequest || a.errorCode() != "logout_token_replayed" {
		t.Fatalf("the logout token replayed on gateway 1: %d %s", a.status, a.body)
	}
}
