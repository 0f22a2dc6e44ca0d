package turnserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/turn/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"go.uber.org/zap"
)

// Server is one running TURN server with its sockets.
type Server struct {
	cfg    Config
	turn   *turn.Server
	policy atomic.Pointer[peerPolicy]
	stats  counters
	own    map[netip.Addr]bool
}

// New opens the listeners and starts serving.
func New(cfg Config) (*Server, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg}
	var listenIPs []netip.Addr
	for _, a := range append(append([]string(nil), cfg.Listen...), cfg.TLSListen...) {
		if ap, err := netip.ParseAddrPort(a); err == nil {
			listenIPs = append(listenIPs, ap.Addr())
		}
	}
	s.own = ownAddresses(append(listenIPs, cfg.RelayIP, cfg.RelayBind)...)
	s.SetPolicy(cfg.Policy)

	bind := cfg.RelayBind
	if !bind.IsValid() {
		bind = netip.IPv4Unspecified()
		if cfg.RelayIP.Is6() {
			bind = netip.IPv6Unspecified()
		}
		if s.own[cfg.RelayIP.Unmap()] {
			bind = cfg.RelayIP
		}
	}
	gen := &relayGenerator{
		inner: &turn.RelayAddressGeneratorPortRange{
			RelayAddress: net.IP(cfg.RelayIP.AsSlice()),
			Address:      bind.String(),
			MinPort:      cfg.MinPort,
			MaxPort:      cfg.MaxPort,
		},
		policy: &s.policy,
		stats:  &s.stats,
	}
	b := newBook(accesstoken.TURNSharedSecret(cfg.Secret), cfg.Realm, cfg.Grace, cfg.Clock, &s.policy, &s.stats)
	sc := turn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   b.auth,
		QuotaHandler:  b.quota,
		EventHandler:  b.events(),
		LoggerFactory: zapFactory{cfg.Logger},
	}
	closers, err := s.listen(&sc, gen)
	if err != nil {
		for _, c := range closers {
			c.Close()
		}
		return nil, err
	}
	if s.turn, err = turn.NewServer(sc); err != nil {
		for _, c := range closers {
			c.Close()
		}
		return nil, fmt.Errorf("turnserver: %w", err)
	}
	return s, nil
}

type closer interface{ Close() error }

// listen opens a UDP and a TCP socket on each Listen address and a TLS
// listener on each TLSListen address.
func (s *Server) listen(sc *turn.ServerConfig, gen *relayGenerator) ([]closer, error) {
	var opened []closer
	perm := s.permission
	for _, a := range s.cfg.Listen {
		pcs, err := listenUDP(a)
		if err != nil {
			return opened, fmt.Errorf("turnserver: listen udp %s: %w", a, err)
		}
		for _, pc := range pcs {
			opened = append(opened, pc)
			g := gen
			if br, ok := pc.(*batchReader); ok {
				g = &relayGenerator{inner: gen.inner, policy: gen.policy, stats: gen.stats, batch: br}
			}
			sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{
				PacketConn: pc, RelayAddressGenerator: g, PermissionHandler: perm})
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return opened, fmt.Errorf("turnserver: listen tcp %s: %w", a, err)
		}
		opened = append(opened, ln)
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener: ln, RelayAddressGenerator: gen, PermissionHandler: perm})
	}
	for _, a := range s.cfg.TLSListen {
		ln, err := tls.Listen("tcp", a, s.cfg.TLS)
		if err != nil {
			return opened, fmt.Errorf("turnserver: listen tls %s: %w", a, err)
		}
		opened = append(opened, ln)
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener: ln, RelayAddressGenerator: gen, PermissionHandler: perm})
	}
	return opened, nil
}

// permission is pion's PermissionHandler, for CreatePermission and ChannelBind.
func (s *Server) permission(_ net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if ok && s.policy.Load().allowsIP(ip) {
		return true
	}
	s.stats.peerRefusals.Add(1)
	return false
}

// SetPolicy changes where the server relays to and the quota, for the
// allocations that exist and those to come.
func (s *Server) SetPolicy(p Policy) {
	if p.Quota < 1 {
		p.Quota = DefaultQuota
	}
	s.policy.Store(&peerPolicy{Policy: p, own: s.own})
}

// Stats returns the counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// Close ends every allocation and closes the sockets.
func (s *Server) Close() error {
	if s.turn == nil {
		return errors.New("turnserver: not started")
	}
	err := s.turn.Close()
	s.cfg.Logger.Debug("TURN server closed", zap.Int64("allocations", s.stats.allocations.Load()))
	return err
}
