package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway"
	"github.com/roomgate/roomgate/mediaserver"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(MediaServer{})
}

// mediaEngines keeps each running media server, its sockets and its calls
// across config reloads, keyed by the addresses it binds.
var mediaEngines = caddy.NewUsagePool()

// MediaServer is the `mediaserver` app: roomgate's SFU, which takes
// signalling connections only with an admission from the gateway.
type MediaServer struct {
	// Signal is where the SFU takes signalling that reverse_proxy forwards.
	// Default: 127.0.0.1:7880. Keep it off the public network: only the
	// gateway should reach it.
	Signal string `json:"signal,omitempty"`

	// UDPPort carries every peer's media (ICE UDP mux). Default: 7882.
	UDPPort int `json:"udp_port,omitempty"`

	// TCPPort carries ICE-TCP for peers whose UDP is blocked. Default: 7881;
	// -1 turns ICE-TCP off.
	TCPPort int `json:"tcp_port,omitempty"`

	// PublicIP is announced in ICE candidates instead of the local addresses,
	// for a server behind 1:1 NAT.
	PublicIP []string `json:"public_ip,omitempty"`

	// ICEIPs limits the local addresses offered as candidates, as CIDR
	// ranges. Default: every address but loopback; loopback is offered only
	// when a range here holds it.
	ICEIPs []string `json:"ice_ips,omitempty"`

	// Secret is the master secret shared with the gateway; empty: the one in
	// Caddy's storage.
	Secret string `json:"secret,omitempty"`

	// MaxPeersPerRoom refuses peers beyond this many. Default: 100.
	MaxPeersPerRoom int `json:"max_peers_per_room,omitempty"`

	// EndedFor is how long a meeting an admin ended ("end for all") stays
	// closed to everyone but hosts and admins, who open it again. Default: 1h.
	EndedFor caddy.Duration `json:"ended_for,omitempty"`

	// LobbyWait is how long a knock on a lobby waits for an answer before
	// it is told nobody answered. Default: 10m.
	LobbyWait caddy.Duration `json:"lobby_wait,omitempty"`

	// DeniedFor is how long someone turned away from a lobby may not knock
	// on that room again (their verified identity, or their address).
	// Default: 10m; -1 (Caddyfile: off): at once.
	DeniedFor caddy.Duration `json:"denied_for,omitempty"`

	// NodeID names this media server among the nodes of a cluster (with
	// the roomgate_cluster option). Default: the host name and the signal
	// port.
	NodeID string `json:"node_id,omitempty"`

	// Advertise is the host:port gateways reach Signal at, when Signal
	// listens on every address (:7880). Default: Signal.
	Advertise string `json:"advertise,omitempty"`

	// Region groups nodes near each other; gateways of a region put new
	// rooms on its nodes first.
	Region string `json:"region,omitempty"`

	// TURN are the TURN URLs peers of this node's rooms are given (the
	// TURN server beside this node), instead of the gateway's.
	TURN []string `json:"turn,omitempty"`

	// DrainTimeout is, for a node of a cluster, the longest drain: told to
	// stop (SIGTERM, `caddy stop`, `roomgate drain`), the node takes no new
	// room at once and lets its rooms end by themselves for this long; then
	// it moves the rooms left to other nodes (their people connect again,
	// about a second without media) and stops. Default: 25s, within the
	// 30 s that Kubernetes and most service managers give a stop; give
	// yours at least this plus 5 s. -1 (Caddyfile: off): move them at once.
	DrainTimeout caddy.Duration `json:"drain_timeout,omitempty"`

	cfg       mediaserver.Config
	engineKey string
	memKey    string // this process's shared memory, when not in a cluster
	log       *zap.Logger
}

// mediaEngine is a media server and the listener its signalling arrives on.
type mediaEngine struct {
	srv  *mediaserver.Server
	http *http.Server
}

// Destruct drains a node when the process is stopping (SIGTERM, `caddy
// stop`): its signalling listener stays open meanwhile, since people still
// join the rooms it holds. A reload that drops the engine moves its rooms
// at once: a reload must not hang for a drain.
func (e *mediaEngine) Destruct() error {
	if caddy.Exiting() {
		e.srv.Drain(context.Background())
	}
	e.http.Close()
	return e.srv.Close()
}

// CaddyModule returns the Caddy module information.
func (MediaServer) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mediaserver",
		New: func() caddy.Module { return new(MediaServer) },
	}
}

// Provision checks the configuration and loads the secret.
func (m *MediaServer) Provision(ctx caddy.Context) error {
	m.log = ctx.Logger()
	if m.Signal == "" {
		m.Signal = "127.0.0.1:7880"
	}
	if _, _, err := net.SplitHostPort(m.Signal); err != nil {
		return fmt.Errorf("mediaserver: signal %q is not host:port", m.Signal)
	}
	tcp := m.TCPPort
	switch {
	case tcp == 0:
		tcp = 7881
	case tcp < 0:
		tcp = 0
	}
	secret, err := masterSecret(ctx, m.Secret)
	if err != nil {
		return fmt.Errorf("mediaserver: %w", err)
	}
	m.cfg = mediaserver.Config{
		Secret: secret, UDPPort: m.UDPPort, TCPPort: tcp,
		MaxPeersPerRoom: m.MaxPeersPerRoom, Logger: m.log, EndedFor: time.Duration(m.EndedFor), Audit: auditLogger(ctx),
		LobbyWait: time.Duration(m.LobbyWait), DeniedFor: time.Duration(m.DeniedFor),
		DrainTimeout: time.Duration(m.DrainTimeout),
	}
	if err := m.joinCluster(ctx, secret); err != nil {
		return fmt.Errorf("mediaserver: %w", err)
	}
	for _, s := range m.PublicIP {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("mediaserver: public_ip %q is not an IP address", s)
		}
		m.cfg.PublicIPs = append(m.cfg.PublicIPs, ip)
	}
	for _, s := range m.ICEIPs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("mediaserver: ice_ips %q is not a CIDR range", s)
		}
		m.cfg.ICEIPs = append(m.cfg.ICEIPs, p)
	}
	udp := m.UDPPort
	if udp == 0 {
		udp = mediaserver.DefaultUDPPort
	}
	if err := registerCollector(ctx, mediaCollector); err != nil {
		return fmt.Errorf("mediaserver: metrics: %w", err)
	}
	m.engineKey = fmt.Sprintf("media/%s/%d/%d", m.Signal, udp, tcp)
	return nil
}

// Start opens the sockets, or keeps the ones of the config being replaced.
func (m *MediaServer) Start() error {
	_, loaded, err := mediaEngines.LoadOrNew(m.engineKey, func() (caddy.Destructor, error) {
		srv, err := mediaserver.New(m.cfg)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", m.Signal)
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("signal %s: %w", m.Signal, err)
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.log.Error("signalling listener", zap.Error(err))
			}
		}()
		m.log.Info("media server started", zap.String("signal", m.Signal),
			zap.Int("udp_port", m.cfg.UDPPort), zap.Int("tcp_port", m.cfg.TCPPort))
		return &mediaEngine{srv: srv, http: hs}, nil
	})
	if err != nil {
		return fmt.Errorf("mediaserver: %w", err)
	}
	if loaded {
		m.log.Debug("media server kept across the reload", zap.String("signal", m.Signal))
	}
	return nil
}

// Cleanup lets go of the shared memory.
func (m *MediaServer) Cleanup() error {
	letGoShared(m.memKey)
	return nil
}

// Stop lets go of the engine; the next config keeps it if it binds the same addresses.
func (m *MediaServer) Stop() error {
	_, err := mediaEngines.Delete(m.engineKey)
	return err
}

// joinCluster gives the media server the state it shares with the
// gateways and, when the roomgate_cluster option is set, makes it a node
// of the cluster.
func (m *MediaServer) joinCluster(ctx caddy.Context, secret accesstoken.Secret) error {
	store, cl, memKey, err := sharedState(ctx, secret)
	if err != nil {
		return err
	}
	m.memKey, m.cfg.Shared = memKey, store
	if cl == nil {
		if m.DrainTimeout != 0 {
			return fmt.Errorf("drain_timeout needs roomgate_cluster: a lone media server has nowhere to move its rooms")
		}
		return nil
	}
	advertise := m.Advertise
	if advertise == "" {
		advertise = m.Signal
	}
	host, port, err := net.SplitHostPort(advertise)
	if err != nil {
		return fmt.Errorf("advertise %q is not host:port", advertise)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		return fmt.Errorf("signal %s listens on every address: say with advertise where gateways reach it", m.Signal)
	}
	id := m.NodeID
	if id == "" {
		h, _ := os.Hostname()
		id = h + "-" + port
	}
	for _, u := range m.TURN {
		if !gateway.ValidTURNURL(u) {
			return fmt.Errorf("turn %q must be turn:host[:port][?transport=udp|tcp] or turns:…", u)
		}
	}
	m.cfg.Node = cluster.Node{ID: id, Signal: advertise, Region: m.Region, TURN: m.TURN}
	return nil
}

// portOf reads a port, whole, for the apps' Caddyfile parsing.
func portOf(s string) (int, error) {
	// Whole: Sscanf would read "78x2" as 78.
	p, err := strconv.Atoi(strings.TrimPrefix(s, ":"))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%q is not a port", s)
	}
	return p, nil
}

// Interface guards
var (
	_ caddy.App          = (*MediaServer)(nil)
	_ caddy.Provisioner  = (*MediaServer)(nil)
	_ caddy.CleanerUpper = (*MediaServer)(nil)
)
