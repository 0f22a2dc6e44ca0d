package oidc

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWhoMayHost(t *testing.T) {
	s := Settings{Issuer: "https://id.example.com", Allow: Allow{
		EmailDomains: []string{"example.com"},
		Groups:       []Group{{Name: "sales", Rooms: []string{"retro"}}, {Name: "support", Rooms: []string{"help", "retro"}}, {Name: "hosts"}},
	}}
	s.fillDefaults()
	for _, tc := range []struct {
		name    string
		c       claims
		user    string
		rooms   []string
		refused error
	}{
		{"verified address at the domain", claims{"preferred_username": "ann", "email": "ann@example.com", "email_verified": true}, "ann", nil, nil},
		{"verified, as a string", claims{"preferred_username": "ann", "email": "ann@Example.com", "email_verified": "true"}, "ann", nil, nil},
		{"unverified address at the domain", claims{"preferred_username": "eve", "email": "eve@example.com", "email_verified": false}, "eve", nil, errNotAllowed},
		{"a lookalike domain", claims{"preferred_username": "eve", "email": "eve@evil-example.com", "email_verified": true}, "eve", nil, errNotAllowed},
		{"the domain as a subaddress", claims{"preferred_username": "eve", "email": "eve@example.com@evil.net", "email_verified": true}, "eve", nil, errNotAllowed},
		{"one group with rooms", claims{"preferred_username": "dan", "groups": []any{"sales"}}, "dan", []string{"retro"}, nil},
		{"two groups: their rooms together", claims{"preferred_username": "dan", "groups": []any{"sales", "support"}}, "dan", []string{"retro", "help"}, nil},
		{"a group with every room wins", claims{"preferred_username": "dan", "groups": []any{"sales", "hosts"}}, "dan", nil, nil},
		{"a group as one string", claims{"preferred_username": "dan", "groups": "hosts"}, "dan", nil, nil},
		{"no allowed group", claims{"preferred_username": "mal", "groups": []any{"staff"}}, "mal", nil, errNotAllowed},
		{"named by a verified email", claims{"email": "ann@example.com", "email_verified": true}, "ann@example.com", nil, nil},
		{"no name at all", claims{"email": "ann@example.com", "email_verified": false, "groups": []any{"hosts"}}, "", nil, errNoUsableName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, user, err := s.admit(tc.c)
			if !errors.Is(err, tc.refused) || user != tc.user {
				t.Fatalf("admit: %q %v, want %q %v", user, err, tc.user, tc.refused)
			}
			if err == nil && !slices.Equal(p.rooms, tc.rooms) {
				t.Fatalf("rooms %v, want %v", p.rooms, tc.rooms)
			}
		})
	}
}

func TestBindingCookieIsTheGatewaysOwnAndShortLived(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	b := newBinding(now, "/join/standup")
	read := func(value string, at time.Time) bool {
		r := httptest.NewRequest("GET", CallbackPath, nil)
		r.Header.Set("Cookie", bindingCookie+"="+value)
		got, ok := readBinding(r, key, at)
		return ok && got.state() == b.state() && got.next == b.next
	}
	v := b.encode(key)
	if !read(v, now.Add(time.Minute)) {
		t.Fatal("the browser's own binding is not read back")
	}
	if read(v, now.Add(loginWindow+time.Second)) {
		t.Fatal("a login older than its window is taken")
	}
	if read(b.encode([]byte("another key, another gateway....")), now) {
		t.Fatal("a binding MACed with another key is taken")
	}
	forged := binding{secret: b.secret, started: b.started, next: "//evil.example"}
	fv := forged.encode(key)
	if read(fv[:strings.LastIndexByte(fv, '.')]+v[strings.LastIndexByte(v, '.'):], now) {
		t.Fatal("a binding whose next was changed is taken")
	}
	if b.state() == b.nonce() || b.nonce() == b.verifier() || len(b.verifier()) != 43 {
		t.Fatal("state, nonce and verifier must differ; the verifier is 43 characters")
	}
	for next, want := range map[string]string{"/join/x?a=1": "/join/x?a=1", "//evil.example": "/", "/\\evil.example": "/", "https://evil.example": "/", "": "/"} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
