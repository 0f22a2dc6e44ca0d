package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roomgate/roomgate/cluster/redisstore"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Cluster{})
}

// clusterStores keeps each Redis connection pool across config reloads,
// keyed by a fingerprint of the URL and the prefix.
var clusterStores = caddy.NewUsagePool()

// presenceLease is how long a gateway's word that a host is in a room
// lasts unless renewed: how long the rooms of a gateway that died stay
// open to guests.
const presenceLease = 15 * time.Second

// Cluster is the `roomgate_cluster` app: where the gateways of one site
// keep what they must agree on (host sessions and the allowlist, revoked
// tokens, API rooms, login limits, where hosts are), so that any gateway
// can serve anyone. Without it, each process keeps that state to itself.
type Cluster struct {
	// Redis is the Redis primary (7.0 or later):
	// redis://[user:password@]host:port[/db], or rediss://… for TLS.
	// Placeholders such as {env.ROOMGATE_REDIS} are expanded at start. The
	// URL is never logged.
	Redis string `json:"redis,omitempty"`

	// Prefix starts every key roomgate writes. Sites sharing one Redis
	// keep apart by prefix. Default: rg:
	Prefix string `json:"prefix,omitempty"`

	store *redisstore.Store
	key   string
}

// clusterStore is a Redis store kept in the pool.
type clusterStore struct{ *redisstore.Store }

func (c clusterStore) Destruct() error { return c.Close() }

// CaddyModule returns the Caddy module information.
func (Cluster) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "roomgate_cluster",
		New: func() caddy.Module { return new(Cluster) },
	}
}

// Provision checks the URL and attaches to the connection pool; Redis
// itself may be down (roomgate starts, refuses admissions with 503, and
// serves once Redis is back).
func (c *Cluster) Provision(ctx caddy.Context) error {
	url := caddy.NewReplacer().ReplaceKnown(c.Redis, "")
	if url == "" {
		return fmt.Errorf("roomgate_cluster: redis is required")
	}
	if _, err := redisstore.ParseURL(url); err != nil {
		return fmt.Errorf("roomgate_cluster: %w", err)
	}
	prefix := c.Prefix
	if prefix == "" {
		prefix = redisstore.DefaultPrefix
	}
	sum := sha256.Sum256([]byte(url + "\x00" + prefix))
	c.key = "cluster/" + hex.EncodeToString(sum[:8])
	log := ctx.Logger()
	v, _, err := clusterStores.LoadOrNew(c.key, func() (caddy.Destructor, error) {
		s, err := redisstore.New(redisstore.Options{URL: url, Prefix: prefix, Logger: log,
			Observe: func(d time.Duration) { clusterRoundTrip.Observe(d.Seconds()) }})
		if err != nil {
			return nil, err
		}
		return clusterStore{s}, nil
	})
	if err != nil {
		return fmt.Errorf("roomgate_cluster: %w", err)
	}
	c.store = v.(clusterStore).Store
	for _, m := range []prometheus.Collector{clusterCollector, clusterRoundTrip} {
		if err := registerCollector(ctx, m); err != nil {
			return fmt.Errorf("roomgate_cluster: metrics: %w", err)
		}
	}
	log.Info("sharing state through Redis", zap.String("prefix", prefix), zap.String("fingerprint", c.key))
	return nil
}

// Start implements caddy.App; the store connects on first use.
func (c *Cluster) Start() error { return nil }

// Stop implements caddy.App.
func (c *Cluster) Stop() error { return nil }

// Cleanup lets go of the connection pool; the next config keeps it if it
// names the same Redis and prefix.
func (c *Cluster) Cleanup() error {
	if c.key == "" {
		return nil
	}
	_, err := clusterStores.Delete(c.key)
	return err
}

// Interface guards
var (
	_ caddy.App          = (*Cluster)(nil)
	_ caddy.Provisioner  = (*Cluster)(nil)
	_ caddy.CleanerUpper = (*Cluster)(nil)
)
