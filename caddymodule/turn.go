package caddymodule

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
	"github.com/roomgate/roomgate/turnserver"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(TURN{})
}

// turnServers keeps each running TURN server and its allocations across
// config reloads, keyed by what cannot change under a live allocation.
var turnServers = caddy.NewUsagePool()

// TURN is the `turn` app: a TURN server that relays only for peers the
// gateway admitted, and never into the networks behind it.
type TURN struct {
	// Listen are the addresses served on UDP and TCP. Default: :3478.
	Listen []string `json:"listen,omitempty"`

	// TLSListen are addresses served with TLS (turns:), with the
	// certificate Caddy manages for the name the client asks for (its SNI)
	// or, without one, for the realm.
	TLSListen []string `json:"tls_listen,omitempty"`

	// Realm is the TURN realm, usually the site's domain. Default: roomgate.
	Realm string `json:"realm,omitempty"`

	// RelayIP is the address announced for relays: the server's public
	// address. Required.
	RelayIP string `json:"relay_ip,omitempty"`

	// RelayPorts is the range relay sockets are opened in, as "min-max".
	// Default: 49152-65535. Open it in the firewall for UDP.
	RelayPorts string `json:"relay_ports,omitempty"`

	// Secret is the master secret shared with the gateway; empty: the one in
	// Caddy's storage.
	Secret string `json:"secret,omitempty"`

	// AllowPeer are CIDR ranges relayed to that would otherwise be refused
	// (private, loopback, the server's own…). The media server configured in
	// the same Caddy is allowed without this, on its media port only.
	AllowPeer []string `json:"allow_peer,omitempty"`

	// Quota is how many allocations one admitted peer may hold. Default: 12
	// (two peer connections, each with UDP, TCP and TLS candidates, twice).
	Quota int `json:"quota,omitempty"`

	cfg turnserver.Config
	key string
	tls *tls.Config
	log *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (TURN) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "turn", New: func() caddy.Module { return new(TURN) }}
}

// turnInstance is a running server and the TLS settings its listeners ask
// for on each handshake, replaced at every reload.
type turnInstance struct {
	srv *turnserver.Server
	tls atomic.Pointer[tls.Config]
}

func (t *turnInstance) Destruct() error { return t.srv.Close() }

// Provision checks the configuration.
func (t *TURN) Provision(ctx caddy.Context) error {
	t.log = ctx.Logger()
	repl := caddy.NewReplacer()
	secret, err := masterSecret(ctx, t.Secret)
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	relayIP, err := netip.ParseAddr(repl.ReplaceKnown(t.RelayIP, ""))
	if err != nil {
		return fmt.Errorf("turn: relay_ip %q is not an IP address", t.RelayIP)
	}
	t.cfg = turnserver.Config{
		Secret: secret, Realm: t.Realm, RelayIP: relayIP, Logger: t.log,
		Listen: t.Listen, TLSListen: t.TLSListen,
		Policy: turnserver.Policy{Quota: t.Quota},
	}
	for _, a := range append(append([]string(nil), t.Listen...), t.TLSListen...) {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("turn: listen %q is not host:port", a)
		}
	}
	if t.RelayPorts != "" {
		if t.cfg.MinPort, t.cfg.MaxPort, err = portRange(t.RelayPorts); err != nil {
			return fmt.Errorf("turn: relay_ports: %w", err)
		}
	}
	for _, s := range t.AllowPeer {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("turn: allow_peer %q is not a CIDR range", s)
		}
		t.cfg.Policy.AllowPeers = append(t.cfg.Policy.AllowPeers, p.Masked())
	}
	// The media server in this same config: relay to its media port.
	if app, err := ctx.AppIfConfigured("mediaserver"); err == nil {
		t.cfg.Policy.AllowEndpoints = app.(*MediaServer).cfg.MediaEndpoints()
	} else if !errors.Is(err, caddy.ErrNotConfigured) {
		return fmt.Errorf("turn: %w", err)
	}
	if len(t.TLSListen) > 0 {
		if t.tls, err = managedTLS(ctx, t.Realm); err != nil {
			return fmt.Errorf("turn: %w", err)
		}
	}
	if err := registerCollector(ctx, turnCollector); err != nil {
		return fmt.Errorf("turn: metrics: %w", err)
	}
	t.key = strings.Join([]string{"turn", secret.ID(), t.Realm, relayIP.String(), t.RelayPorts,
		strings.Join(t.Listen, ","), strings.Join(t.TLSListen, ",")}, "/")
	return nil
}

// managedTLS is a TLS configuration that serves the certificates Caddy's
// tls app manages, as Caddy's own HTTPS servers do; a client that names no
// server (a TURN client given an address) gets the realm's.
func managedTLS(ctx caddy.Context, realm string) (*tls.Config, error) {
	cps := caddytls.ConnectionPolicies{&caddytls.ConnectionPolicy{ALPN: []string{"stun.turn"}, DefaultSNI: realm}}
	if err := cps.Provision(ctx); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return cps.TLSConfig(ctx), nil
}

// Start opens the sockets, or keeps the server of the config being replaced
// and gives it this config's peer policy and certificates.
func (t *TURN) Start() error {
	v, loaded, err := turnServers.LoadOrNew(t.key, func() (caddy.Destructor, error) {
		inst := &turnInstance{}
		inst.tls.Store(t.tls)
		cfg := t.cfg
		if len(cfg.TLSListen) > 0 {
			cfg.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				return inst.tls.Load().GetConfigForClient(h)
			}}
		}
		srv, err := turnserver.New(cfg)
		if err != nil {
			return nil, err
		}
		inst.srv = srv
		t.log.Info("TURN server started", zap.Strings("listen", cfg.Listen), zap.Strings("tls_listen", cfg.TLSListen),
			zap.String("relay_ip", cfg.RelayIP.String()))
		return inst, nil
	})
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	if loaded {
		inst := v.(*turnInstance)
		inst.srv.SetPolicy(t.cfg.Policy)
		if t.tls != nil {
			inst.tls.Store(t.tls)
		}
		t.log.Debug("TURN server kept across the reload")
	}
	return nil
}

// Stop lets go of the server; the next config keeps it if it has the same key.
func (t *TURN) Stop() error {
	_, err := turnServers.Delete(t.key)
	return err
}

// portRange reads "min-max".
func portRange(s string) (uint16, uint16, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not min-max", s)
	}
	a, err := portOf(lo)
	if err != nil {
		return 0, 0, err
	}
	b, err := portOf(hi)
	if err != nil {
		return 0, 0, err
	}
	if b < a {
		return 0, 0, fmt.Errorf("%q ends before it starts", s)
	}
	return uint16(a), uint16(b), nil
}

// Interface guards
var (
	_ caddy.App         = (*TURN)(nil)
	_ caddy.Provisioner = (*TURN)(nil)
)
