package mediaserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// Defaults for what Config leaves zero.
const (
	DefaultUDPPort          = 7882
	DefaultMaxPeersPerRoom  = 100
	DefaultMaxTracksPerPeer = 6 // camera, microphone, screen video and audio, and room to spare
	DefaultKeepAlive        = 20 * time.Second
	// DefaultEndedFor is how long a meeting an admin ended stays closed to
	// everyone but hosts and admins.
	DefaultEndedFor = time.Hour
)

// Config is how one media server runs.
type Config struct {
	// Secret is the master secret shared with the gateway.
	Secret accesstoken.Secret
	// UDPPort carries every peer's media (ICE UDP mux).
	UDPPort int
	// TCPPort carries ICE-TCP for peers whose UDP is blocked; 0: off.
	TCPPort int
	// PublicIPs replace the local addresses in host candidates, for a server
	// behind 1:1 NAT.
	PublicIPs []netip.Addr
	// ICEIPs limits the local addresses offered as candidates; empty: every
	// address but loopback. Loopback is offered only when a range here
	// holds it.
	ICEIPs []netip.Prefix
	// MaxPeersPerRoom refuses the peer after this many.
	MaxPeersPerRoom int
	// MaxTracksPerPeer bounds what one peer may publish.
	MaxTracksPerPeer int
	// KeepAlive is how often an idle signalling connection is pinged, so that
	// proxies' idle timeouts do not cut it.
	KeepAlive time.Duration
	// Logger gets operational events; never a token.
	Logger *zap.Logger
	// Audit gets one line per admin action (remove, lock, end, let in,
	// turn away); nil: none.
	Audit *zap.Logger
	// Clock is the time source; nil: the real clock.
	Clock clockwork.Clock
	// EndedFor is how long a meeting an admin ended stays closed to
	// everyone but hosts and admins (who open it again).
	EndedFor time.Duration
	// LobbyWait is how long a knock waits for an answer.
	LobbyWait time.Duration
	// DeniedFor is how long someone turned away from a lobby may not
	// knock on that room again; negative: they may at once.
	DeniedFor time.Duration
	// Shared is the state this server shares with the gateways: room locks
	// and ended meetings, barred rejoin passes; and, for a node of a
	// cluster, its lease and its rooms' pins. nil: kept to itself.
	Shared cluster.Store
	// Node is how gateways see this server in a cluster; with an ID, the
	// server registers in Shared as a node, serves only the rooms pinned to
	// it, and takes only admissions made for it.
	Node cluster.Node
	// DrainTimeout is how long a draining node lets its rooms end by
	// themselves before it moves what is left (Drain); 0: the default,
	// DefaultDrainTimeout; negative: it moves them at once.
	DrainTimeout time.Duration
}

func (c *Config) fillDefaults() {
	if c.UDPPort == 0 {
		c.UDPPort = DefaultUDPPort
	}
	if c.MaxPeersPerRoom == 0 {
		c.MaxPeersPerRoom = DefaultMaxPeersPerRoom
	}
	if c.MaxTracksPerPeer == 0 {
		c.MaxTracksPerPeer = DefaultMaxTracksPerPeer
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.EndedFor == 0 {
		c.EndedFor = DefaultEndedFor
	}
	if c.LobbyWait == 0 {
		c.LobbyWait = DefaultLobbyWait
	}
	if c.DeniedFor == 0 {
		c.DeniedFor = DefaultDeniedFor
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Audit == nil {
		c.Audit = zap.NewNop()
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
}

func (c *Config) validate() error {
	var errs []error
	if len(c.Secret) < accesstoken.MinSecretLen {
		errs = append(errs, errors.New("no secret shared with the gateway"))
	}
	if c.UDPPort < 1 || c.UDPPort > 65535 {
		errs = append(errs, fmt.Errorf("udp_port %d is not a port", c.UDPPort))
	}
	if c.TCPPort < 0 || c.TCPPort > 65535 {
		errs = append(errs, fmt.Errorf("tcp_port %d is not a port", c.TCPPort))
	}
	if c.Node.ID != "" && (c.Shared == nil || c.Node.Signal == "") {
		errs = append(errs, errors.New("a node of a cluster needs the shared state and the address gateways reach its signalling at"))
	}
	if c.MaxPeersPerRoom < 2 || c.MaxTracksPerPeer < 1 {
		errs = append(errs, errors.New("rooms need room for two peers and one track each"))
	}
	return errors.Join(errs...)
}

// MediaEndpoints are the UDP addresses peers send media to: each public IP
// and each local address offered in candidates, on UDPPort. A TURN server
// beside the media server relays to these, port included, and to nothing
// else of this host.
func (c Config) MediaEndpoints() []netip.AddrPort {
	port := c.UDPPort
	if port == 0 {
		port = DefaultUDPPort
	}
	var out []netip.AddrPort
	for _, ip := range c.PublicIPs {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	}
	keep, loopback := ipFilter(c.ICEIPs)
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		pre, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := pre.Addr().Unmap()
		if (ip.IsLoopback() && !loopback) || !keep(net.IP(ip.AsSlice())) {
			continue
		}
		out = append(out, netip.AddrPortFrom(ip, uint16(port)))
	}
	return out
}
