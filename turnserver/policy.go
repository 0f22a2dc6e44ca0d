package turnserver

import (
	"net"
	"net/netip"
)

// Policy says where the server relays to. It can change while the server
// runs (a config reload), without dropping allocations.
type Policy struct {
	// AllowPeers are ranges relayed to even though the rules below would
	// refuse them: a media server on a private network, say.
	AllowPeers []netip.Prefix
	// AllowEndpoints are single address:port pairs relayed to, and on that
	// port only: the media server in the same process. A permission to their
	// address is granted, but a packet to any other port of it is dropped.
	AllowEndpoints []netip.AddrPort
	// Quota is how many allocations one user may hold at once.
	Quota int
}

// refused are the ranges a TURN relay must never reach by default: what an
// attacker would use to get at the server's own host or its networks.
var refused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),     // private
	netip.MustParsePrefix("100.64.0.0/10"),  // CGNAT shared space
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local (cloud metadata)
	netip.MustParsePrefix("172.16.0.0/12"),  // private
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"), // private
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("100::/64"),       // discard
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("ff00::/8"),       // multicast
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("2001::/32"),      // Teredo: hides an IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
}

// peerPolicy is a Policy with the server's own addresses, ready to ask.
type peerPolicy struct {
	Policy
	own map[netip.Addr]bool
}

// embeddedIPv4 returns the IPv4 address that an IPv6 address carries in
// one of the standard ways (mapped, compatible, NAT64, 6to4), so that the
// rules for IPv4 apply to it too.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case ip.Is4In6():
		return ip.Unmap(), true
	case netip.MustParsePrefix("::/96").Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true // IPv4-compatible
	case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true // NAT64
	case netip.MustParsePrefix("2002::/16").Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true // 6to4
	}
	return netip.Addr{}, false
}

// allowsIP says whether a permission to ip may be granted. Endpoints
// allowed exactly count here; their ports are checked on each packet.
func (p *peerPolicy) allowsIP(ip netip.Addr) bool {
	if p.allowsRange(ip) {
		return true
	}
	for _, e := range p.AllowEndpoints {
		if e.Addr().Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}

// allowsEndpoint says whether a packet may be relayed to ap.
func (p *peerPolicy) allowsEndpoint(ap netip.AddrPort) bool {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if p.allowsRange(ap.Addr()) {
		return true
	}
	for _, e := range p.AllowEndpoints {
		if netip.AddrPortFrom(e.Addr().Unmap(), e.Port()) == ap {
			return true
		}
	}
	return false
}

// allowsRange applies allow_peer and then the refusals.
func (p *peerPolicy) allowsRange(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("")
	forms := []netip.Addr{ip}
	if v4, ok := embeddedIPv4(ip); ok {
		forms = append(forms, v4)
	}
	for _, pre := range p.AllowPeers {
		for _, f := range forms {
			if pre.Contains(f) {
				return true
			}
		}
	}
	for _, f := range forms {
		if p.own[f] {
			return false
		}
		for _, pre := range refused {
			if pre.Contains(f) {
				return false
			}
		}
	}
	return true
}

// ownAddresses are the addresses of this host's interfaces and those given.
func ownAddresses(extra ...netip.Addr) map[netip.Addr]bool {
	own := map[netip.Addr]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if pre, err := netip.ParsePrefix(a.String()); err == nil {
				own[pre.Addr().Unmap().WithZone("")] = true
			}
		}
	}
	for _, a := range extra {
		if a.IsValid() && !a.IsUnspecified() {
			own[a.Unmap()] = true
		}
	}
	return own
}
