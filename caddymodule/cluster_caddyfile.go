package caddymodule

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/roomgate/roomgate/cluster/redisstore"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("roomgate_cluster", parseClusterOption)
}

// parseClusterOption reads the global option:
//
//	roomgate_cluster {
//		redis <redis://… | rediss://…>
//		prefix <prefix>
//	}
func parseClusterOption(d *caddyfile.Dispenser, _ any) (any, error) {
	c := new(Cluster)
	d.Next()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "redis":
			v, err := optionalArg(d)
			if err != nil || v == "" {
				return nil, d.Err("redis takes one URL: redis://host:port or rediss://host:port")
			}
			// A placeholder is checked at start, once it has a value.
			if !strings.Contains(v, "{") {
				if _, err := redisstore.ParseURL(v); err != nil {
					return nil, d.Err(err.Error())
				}
			}
			c.Redis = v
		case "prefix":
			v, err := optionalArg(d)
			if err != nil || v == "" || len(v) > 64 || strings.ContainsAny(v, " \t\r\n") {
				return nil, d.Err("prefix takes one word of at most 64 bytes")
			}
			c.Prefix = v
		default:
			return nil, d.Errf("unknown roomgate_cluster option %q", d.Val())
		}
	}
	if c.Redis == "" {
		return nil, d.Err("roomgate_cluster needs redis: the URL of the Redis every gateway shares")
	}
	return httpcaddyfile.App{Name: "roomgate_cluster", Value: caddyconfig.JSON(c, nil)}, nil
}
