package hostlogin

import (
	"net/http/httptest"
	"net/netip"
	"testing"
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
