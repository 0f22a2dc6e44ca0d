package turnserver

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/turn/v4"
)

// relayGenerator makes each allocation's relay socket, inside the relay
// port range, wrapped so that every packet is checked against the policy.
type relayGenerator struct {
	inner  *turn.RelayAddressGeneratorPortRange
	policy *atomic.Pointer[peerPolicy]
	stats  *counters
	// batch, for a UDP listener, is its reader: the relays of allocations
	// made through it queue their writes there (see batchReader.queue).
	batch *batchReader
}

func (g *relayGenerator) Validate() error { return g.inner.Validate() }

func (g *relayGenerator) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	c, addr, err := g.inner.AllocatePacketConn(network, requestedPort)
	if err != nil {
		return nil, nil, err
	}
	sizeBuffers(c)
	rc := &relayConn{PacketConn: c, policy: g.policy, stats: g.stats}
	if u, ok := c.(*net.UDPConn); ok && g.batch != nil {
		if rc.socket, err = newRelaySocket(u); err != nil {
			c.Close()
			return nil, nil, err
		}
		rc.batch = g.batch
	}
	return rc, addr, nil
}

var errNoTCPRelay = errors.New("turnserver: TCP relay allocations (RFC 6062) are not offered")

func (g *relayGenerator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errNoTCPRelay
}

// relayConn is one allocation's relay socket. The permission check at
// CreatePermission works on addresses only; here the port counts too, so an
// endpoint allowed exactly (the media server) does not open the rest of its
// host. A packet to anywhere else is dropped and counted.
type relayConn struct {
	net.PacketConn
	policy *atomic.Pointer[peerPolicy]
	stats  *counters
	// last is the last destination allowed and the policy that allowed it:
	// a relayed call sends to one peer, so the check is mostly a compare.
	last atomic.Pointer[allowed]
	// batch and socket, when set, queue writes for sendmmsg.
	batch  *batchReader
	socket *relaySocket
}

type allowed struct {
	to     netip.AddrPort
	policy *peerPolicy
}

func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		c.stats.droppedPackets.Add(1)
		return len(p), nil
	}
	to := ua.AddrPort()
	pol := c.policy.Load()
	if l := c.last.Load(); l == nil || l.to != to || l.policy != pol {
		if !pol.allowsEndpoint(to) {
			c.stats.droppedPackets.Add(1)
			return len(p), nil
		}
		c.last.Store(&allowed{to: to, policy: pol})
	}
	c.stats.relayedPackets.Add(1)
	c.stats.relayedBytes.Add(uint64(len(p)))
	if c.batch != nil {
		c.batch.queue(c.socket, p, to)
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	var (
		n    int
		addr net.Addr
		err  error
	)
	if c.socket != nil {
		var from netip.AddrPort
		if n, from, err = c.socket.r.ReadFrom(p); err == nil {
			addr = net.UDPAddrFromAddrPort(from)
		}
	} else {
		n, addr, err = c.PacketConn.ReadFrom(p)
	}
	if err == nil {
		c.stats.relayedPackets.Add(1)
		c.stats.relayedBytes.Add(uint64(n))
	}
	return n, addr, err
}
