package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/internal/caddyrun"
)

func TestLoginFailuresAreLimitedPerAddressAndPerUser(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "", "")

	// One address trying many names: the address is stopped.
	spray := s.person(t, "127.0.0.3")
	var limited *answer
	for i := range 20 {
		a, _ := spray.login(fmt.Sprintf("user%d", i), "Tr0ub4dor-guess")
		if a.status == http.StatusTooManyRequests {
			limited = &a
			break
		}
		if a.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i, a.status, a.body)
		}
	}
	if limited == nil {
		t.Fatal("20 wrong logins from one address were never limited")
	}
	if secs, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", limited.header.Get("Retry-After"))
	}
	// Even the right password waits now, from that address.
	if a, _ := spray.login("alice", password); a.status != http.StatusTooManyRequests {
		t.Fatalf("right password from a limited address: %d", a.status)
	}

	// Many addresses trying one user: logins as that user from new
	// addresses are held back; from where the user logged in before they
	// are not (a stranger cannot lock the user out), and other users are
	// not touched.
	home := s.person(t, "127.0.2.9")
	home.mustLogin("bob", password)
	for i := range 52 {
		s.person(t, fmt.Sprintf("127.0.1.%d", i/5+1)).login("bob", "Tr0ub4dor-guess")
	}
	if a, _ := s.person(t, "127.0.2.1").login("bob", password); a.status != http.StatusTooManyRequests {
		t.Fatalf("bob from a new address after 52 failures from 11 addresses: %d", a.status)
	}
	home.mustLogin("bob", password)
	s.person(t, "127.0.2.2").mustLogin("alice", password)

	logs := s.Logs()
	if strings.Contains(logs, "Tr0ub4dor") || strings.Contains(logs, password) {
		t.Fatal("a password reached the logs")
	}
}

func TestWrongUserAndWrongPasswordAnswerAlike(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "", "")
	p := s.person(t, "127.0.0.4")
	a1, _ := p.login("nobody", password)
	a2, _ := p.login("alice", "wrong password")
	if a1.status != http.StatusUnauthorized || a1.status != a2.status || string(a1.body) != string(a2.body) {
		t.Fatalf("unknown user %d %s; wrong password %d %s", a1.status, a1.body, a2.status, a2.body)
	}
}

func TestLoginRefusesBadInput(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "", "")
	p := s.person(t, "127.0.0.5")
	for _, tc := range []struct {
		name, ct, body string
		status         int
	}{
		{"not JSON", "application/json", "{username", 400},
		{"JSON list", "application/json", `["alice"]`, 400},
		{"no password", "application/json", `{"username":"alice"}`, 400},
		{"text", "text/plain", "alice:x", 415},
		{"65 KiB", "application/json", `{"username":"` + strings.Repeat("a", 65<<10) + `"}`, 413},
		{"65 KiB form", "application/x-www-form-urlencoded", "username=" + strings.Repeat("a", 65<<10), 413},
		{"long password", "application/json", `{"username":"alice","password":"` + strings.Repeat("p", 2000) + `"}`, 400},
	} {
		a := p.do("POST", "/login", tc.ct, strings.NewReader(tc.body), nil)
		if a.status != tc.status || a.errorCode() == "" {
			t.Errorf("%s: %d %s; want %d and a JSON error", tc.name, a.status, a.body, tc.status)
		}
	}
	form := url.Values{"username": {"alice"}, "password": {password}}
	if a := p.do("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil); a.status != 200 {
		t.Fatalf("form login: %d %s", a.status, a.body)
	}
	if a := p.do("GET", "/logout", "", nil, nil); a.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET /logout: %d", a.status)
	}
	if st := p.do("POST", "/logout", "", nil, nil).status; st != http.StatusUnauthorized {
		t.Fatalf("logout without a token: %d", st)
	}
	if st := p.logout("garbage"); st != http.StatusUnauthorized {
		t.Fatalf("logout with garbage: %d", st)
	}
	if st := p.logout(mintPeer(t, accesstoken.Claims{Room: "standup"})); st != http.StatusBadRequest {
		t.Fatalf("logout with a guest's token: %d", st)
	}
}

// Every hash `roomgate hash-password` makes is taken, through Caddy's own
// comparers.
func TestArgon2idHashesLogIn(t *testing.T) {
	t.Parallel()
	out, err := caddyrun.Run(t, "hash-password", "--plaintext", "battery staple", "--algorithm", "argon2id")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "$argon2id$") {
		t.Fatalf("hash-password --algorithm argon2id: %v %s", err, out)
	}
	s := gatewaySite(t, "user carol "+strings.TrimSpace(out), "")
	p := s.person(t, "127.0.0.2")
	if a, _ := p.login("carol", "wrong staple"); a.status != http.StatusUnauthorized {
		t.Fatalf("a wrong password against argon2id: %d %s", a.status, a.body)
	}
	p.mustLogin("carol", "battery staple")
	p.mustLogin("alice", password) // bcrypt beside it
}
