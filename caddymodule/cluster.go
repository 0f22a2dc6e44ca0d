package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
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

	// Sentinels, instead of Redis: the host:port of Redis Sentinels that
	// watch the primary named Master. roomgate asks them which node is the
	// primary and follows them when they promote a replica.
	Sentinels []string `json:"sentinels,omitempty"`
	// Master is the name the sentinels monitor the primary under.
	Master string `json:"master,omitempty"`
	// SentinelPassword is the sentinels' requirepass, if any; Password the
	// data nodes' (with Sentinels; with Redis it is in the URL). Both are
	// best placeholders such as {env.ROOMGATE_REDIS_PASSWORD}, expanded at
	// start, and are never logged.
	SentinelPassword string `json:"sentinel_password,omitempty"`
	Password         string `json:"password,omitempty"`

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
	repl := caddy.NewReplacer()
	url := repl.ReplaceKnown(c.Redis, "")
	opts := redisstore.Options{URL: url}
	if len(c.Sentinels) > 0 {
		if url != "" {
			return fmt.Errorf("roomgate_cluster: redis and sentinels exclude each other")
		}
		if c.Master == "" {
			return fmt.Errorf("roomgate_cluster: sentinels need master")
		}
		for _, a := range c.Sentinels {
			a = repl.ReplaceKnown(a, "")
			if !validHostPort(a) {
				// Only which one: an address from the environment is not repeated.
				return fmt.Errorf("roomgate_cluster: sentinel %d of %d is not host:port", len(opts.Sentinels)+1, len(c.Sentinels))
			}
			opts.Sentinels = append(opts.Sentinels, a)
		}
		opts.MasterName = repl.ReplaceKnown(c.Master, "")
		opts.SentinelPassword = repl.ReplaceKnown(c.SentinelPassword, "")
		opts.Password = repl.ReplaceKnown(c.Password, "")
	} else {
		if url == "" {
			return fmt.Errorf("roomgate_cluster: redis is required")
		}
		if _, err := redisstore.ParseURL(url); err != nil {
			return fmt.Errorf("roomgate_cluster: %w", err)
		}
	}
	prefix := c.Prefix
	if prefix == "" {
		prefix = redisstore.DefaultPrefix
	}
	opts.Prefix = prefix
	// Everything that tells one Redis from another, passwords included
	// (a changed password needs new connections); only a hash is kept.
	fp := url + "\x00" + prefix
	if len(opts.Sentinels) > 0 {
		fp = strings.Join([]string{"sentinels", strings.Join(opts.Sentinels, ","), opts.MasterName, opts.SentinelPassword, opts.Password, prefix}, "\x00")
	}
	sum := sha256.Sum256([]byte(fp))
	c.key = "cluster/" + hex.EncodeToString(sum[:8])
	log := ctx.Logger()
	v, _, err := clusterStores.LoadOrNew(c.key, func() (caddy.Destructor, error) {
		opts.Logger = log
		opts.Observe = func(d time.Duration) { clusterRoundTrip.Observe(d.Seconds()) }
		s, err := redisstore.New(opts)
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
	if len(opts.Sentinels) > 0 {
		// The sentinels' addresses and the master's name hold no secret.
		log.Info("sharing state through Redis, the primary Sentinel names", zap.Strings("sentinels", opts.Sentinels),
			zap.String("master", opts.MasterName), zap.String("prefix", prefix), zap.String("fingerprint", c.key))
	} else {
		log.Info("sharing state through Redis", zap.String("prefix", prefix), zap.String("fingerprint", c.key))
	}
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
