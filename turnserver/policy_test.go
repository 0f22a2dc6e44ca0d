package turnserver

import (
	"net/netip"
	"testing"
)

func TestPolicyRefusesWhatLeadsInsideInEveryForm(t *testing.T) {
	own := netip.MustParseAddr("203.0.113.7")
	p := &peerPolicy{own: map[netip.Addr]bool{own: true}}
	for _, s := range []string{
		"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
		"0.0.0.0", "0.1.2.3", "100.64.0.1", "224.0.0.1", "239.255.255.250", "255.255.255.255",
		"240.0.0.1", "192.0.0.170", "198.18.0.1",
		"::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1", "100::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.1.1", "::ffff:0.0.0.0",
		"::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:a00:1::1",
		"2001::1", "64:ff9b:1::1", "2001:db8::1",
		"203.0.113.7", "::ffff:203.0.113.7", "64:ff9b::cb00:7107",
	} {
		ip := netip.MustParseAddr(s)
		if p.allowsIP(ip) {
			t.Errorf("%s is allowed", s)
		}
		if p.allowsEndpoint(netip.AddrPortFrom(ip, 9)) {
			t.Errorf("%s:9 is allowed", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"} {
		if !p.allowsIP(netip.MustParseAddr(s)) {
			t.Errorf("public %s is refused", s)
		}
	}
}

func TestAllowPeerAndEndpointsOpenOnlyWhatTheySay(t *testing.T) {
	p := &peerPolicy{Policy: Policy{
		AllowPeers:     []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		AllowEndpoints: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:7882")},
	}, own: map[netip.Addr]bool{}}
	for _, c := range []struct {
		to   string
		want bool
	}{
		{"10.1.2.3:5000", true},
		{"[::ffff:10.1.2.3]:5000", true},
		{"10.2.0.1:5000", false},
		{"127.0.0.1:7882", true},
		{"[::ffff:127.0.0.1]:7882", true},
		{"127.0.0.1:2019", false}, // Caddy's admin endpoint on the same host
		{"127.0.0.2:7882", false},
	} {
		if got := p.allowsEndpoint(netip.MustParseAddrPort(c.to)); got != c.want {
			t.Errorf("endpoint %s: %v, want %v", c.to, got, c.want)
		}
	}
	// The permission (by address) is granted for the endpoint's address; its
	// other ports are dropped per packet.
	if !p.allowsIP(netip.MustParseAddr("127.0.0.1")) || p.allowsIP(netip.MustParseAddr("127.0.0.2")) {
		t.Error("permissions for the endpoint's address")
	}
}
