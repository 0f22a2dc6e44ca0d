package turnserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
	"go.uber.org/zap"
)

// Defaults for what Config leaves zero.
const (
	DefaultListen   = ":3478"
	DefaultRealm    = "roomgate"
	DefaultMinPort  = 49152
	DefaultMaxPort  = 65535
	DefaultQuota    = 12
	DefaultGrace    = 12 * time.Hour
	maxAllowedRules = 1024
)

// Config is how one TURN server runs.
type Config struct {
	// Secret is the master secret; credentials are checked with the TURN
	// key derived from it (accesstoken.TURNSharedSecret).
	Secret accesstoken.Secret
	// Listen are host:port addresses, each served on UDP and on TCP.
	Listen []string
	// TLSListen are host:port addresses served with TLS (turns:); TLS must
	// be set with them.
	TLSListen []string
	TLS       *tls.Config
	// Realm is the TURN realm.
	Realm string
	// RelayIP is the address announced for relays; it must be one that
	// peers can reach. RelayBind is where relay sockets are opened; zero:
	// RelayIP when it belongs to this host, every address otherwise (1:1 NAT).
	RelayIP   netip.Addr
	RelayBind netip.Addr
	// MinPort and MaxPort bound the relay ports.
	MinPort, MaxPort uint16
	// Policy is where relays may send, and the quota.
	Policy Policy
	// Grace is how long past its credential's expiry an allocation may be
	// kept alive by refreshes: a bound on how long one credential serves.
	Grace time.Duration
	// Logger gets operational events; never a password.
	Logger *zap.Logger
	// Clock is the time source for credential expiry; nil: the real clock.
	Clock clockwork.Clock
}

func (c *Config) fillDefaults() {
	if len(c.Listen) == 0 && len(c.TLSListen) == 0 {
		c.Listen = []string{DefaultListen}
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.MinPort == 0 && c.MaxPort == 0 {
		c.MinPort, c.MaxPort = DefaultMinPort, DefaultMaxPort
	}
	if c.Policy.Quota == 0 {
		c.Policy.Quota = DefaultQuota
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
}

func (c *Config) validate() error {
	if len(c.Secret) < accesstoken.MinSecretLen {
		return errors.New("turnserver: the secret is missing or short")
	}
	if !c.RelayIP.IsValid() || c.RelayIP.IsUnspecified() {
		return errors.New("turnserver: relay_ip must be an address peers can reach")
	}
	if c.MinPort == 0 || c.MaxPort < c.MinPort {
		return fmt.Errorf("turnserver: relay ports %d-%d are not a range", c.MinPort, c.MaxPort)
	}
	if len(c.TLSListen) > 0 && c.TLS == nil {
		return errors.New("turnserver: TLS listeners need a certificate")
	}
	if c.Policy.Quota < 1 {
		return errors.New("turnserver: quota must be at least 1")
	}
	if len(c.Policy.AllowPeers)+len(c.Policy.AllowEndpoints) > maxAllowedRules {
		return fmt.Errorf("turnserver: at most %d allowed peers", maxAllowedRules)
	}
	return nil
}
