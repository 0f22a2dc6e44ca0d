package hostlogin

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/cluster"
)

func TestIPv6ClientsShareTheirSlash64(t *testing.T) {
	a := AddrKey(netip.MustParseAddr("2001:db8:1:2:aaaa::1"))
	b := AddrKey(netip.MustParseAddr("2001:db8:1:2:bbbb::2"))
	c := AddrKey(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Fatalf("keys %s %s %s", a, b, c)
	}
	if AddrKey(netip.MustParseAddr("::ffff:127.0.0.1")) != "127.0.0.1" {
		t.Fatal("an IPv4-mapped address is keyed apart from its IPv4 form")
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		host, origin string
		ok           bool
	}{
		{"localhost:8080", "", true},
		{"localhost:8080", "http://localhost:8080", true},
		{"LOCALHOST:8080", "http://localhost:8080", true},
		{"meet.example.com", "https://meet.example.com", true},
		{"meet.example.com", "https://meet.example.com:443", true},
		{"meet.example.com", "http://meet.example.com:443", false},
		{"meet.example.com", "https://evil.example.com", false},
		{"meet.example.com", "https://meet.example.com.evil.com", false},
		{"localhost:8080", "null", false},
		{"localhost:8080", "ws://localhost:8080", false},
	} {
		r := httptest.NewRequest("GET", "/ws", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := SameOrigin(r); got != tc.ok {
			t.Errorf("host %q origin %q: %v", tc.host, tc.origin, got)
		}
	}
}

// A login an identity provider vouched for opens the rooms its groups
// allowed, and ends once that provider is no longer the configured one.
func TestLoginOfAnIdentityProviderEndsWithItsProvider(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClock()
	store := cluster.NewMemory(clock)
	addr := netip.MustParseAddr("192.0.2.7")
	s := cluster.Session{ID: "s1", User: "carol", Addr: addr, Expires: clock.Now().Add(time.Hour),
		IdP: &cluster.IdPLogin{Issuer: "https://id.example.com", Subject: "248289761001", Rooms: []string{"retro"}}}
	if _, err := store.OpenSession(ctx, s, MaxSessionsPerUser); err != nil {
		t.Fatal(err)
	}
	bound := func(ctx context.Context) (context.Context, context.CancelFunc) { return ctx, func() {} }
	logins := func(issuer string, users ...User) *Logins {
		return New(Config{IdPIssuer: issuer, Users: users, Store: store, Bound: bound, Clock: clock})
	}
	// A password user of the same name does not lend the login its rooms.
	same := logins("https://id.example.com", User{Name: "carol", Hash: []byte("$2a$04$x")})
	if u, rf := same.Host(ctx, &s, false, false, addr, "retro", false); rf != nil || u.Name != "carol" {
		t.Fatalf("in a room its group allows: %v", rf)
	}
	if _, rf := same.Host(ctx, &s, false, false, addr, "standup", false); rf == nil || rf.Code != "room_not_allowed" {
		t.Fatalf("in a room its group does not allow: %v", rf)
	}
	if _, rf := logins("https://other.example.com").Host(ctx, &s, false, false, addr, "retro", false); rf != ErrSessionEnded {
		t.Fatalf("with another provider configured: %v", rf)
	}
	if _, err := store.Session(ctx, "s1"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("the login of a provider no longer configured lives on: %v", err)
	}
}
