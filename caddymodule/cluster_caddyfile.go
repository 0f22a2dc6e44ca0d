package caddymodule

import (
	"net"
	"strconv"
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
//		# or, instead of redis, the primary that Redis Sentinel names:
//		sentinels <host:port>...
//		master <name>
//		sentinel_password <password>   # e.g. {env.ROOMGATE_SENTINEL_PASSWORD}
//		password <password>            # the data nodes'; e.g. {env.ROOMGATE_REDIS_PASSWORD}
//		prefix <prefix>
//	}
//
// Errors never repeat a password.
func parseClusterOption(d *caddyfile.Dispenser, _ any) (any, error) {
	c := new(Cluster)
	d.Next()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	// Where sentinels, master and the passwords were given, to blame that
	// line when what goes with them is missing.
	var sentinelsErr, masterErr, passwordErr error
	for d.NextBlock(0) {
		switch d.Val() {
		case "redis":
			if c.Sentinels != nil {
				return nil, d.Err("redis and sentinels exclude each other: name the primary's URL, or the sentinels and master")
			}
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
		case "sentinels":
			if c.Redis != "" {
				return nil, d.Err("redis and sentinels exclude each other: name the primary's URL, or the sentinels and master")
			}
			if c.Sentinels != nil {
				return nil, d.Err("sentinels is given twice: list every sentinel on one line")
			}
			c.Sentinels = []string{}
			for d.NextArg() {
				v := d.Val()
				if !strings.Contains(v, "{") && !validHostPort(v) {
					return nil, d.Errf("sentinels takes host:port addresses; %q is not one", v)
				}
				c.Sentinels = append(c.Sentinels, v)
			}
			if len(c.Sentinels) == 0 {
				return nil, d.Err("sentinels takes one or more host:port addresses of Redis Sentinels")
			}
			sentinelsErr = d.Err("sentinels needs master: the name the sentinels monitor the primary under")
		case "master":
			v, err := optionalArg(d)
			if err != nil || v == "" || strings.ContainsAny(v, " \t\r\n") {
				return nil, d.Err("master takes one name: the one the sentinels monitor the primary under")
			}
			c.Master = v
			masterErr = d.Err("master needs sentinels: the host:port of the Redis Sentinels that watch it")
		case "sentinel_password", "password":
			word := d.Val()
			v, err := optionalArg(d)
			if err != nil || v == "" {
				return nil, d.Errf("%s takes one value, best from the environment: {env.NAME}", word)
			}
			if word == "password" {
				c.Password = v
			} else {
				c.SentinelPassword = v
			}
			passwordErr = d.Errf("%s goes with sentinels; with redis, the password is in the URL", word)
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
	switch {
	case c.Sentinels != nil && c.Master == "":
		return nil, sentinelsErr
	case c.Master != "" && c.Sentinels == nil:
		return nil, masterErr
	case c.Sentinels == nil && passwordErr != nil:
		return nil, passwordErr
	case c.Redis == "" && c.Sentinels == nil:
		return nil, d.Err("roomgate_cluster needs redis: the URL of the Redis every gateway shares (or sentinels and master)")
	}
	return httpcaddyfile.App{Name: "roomgate_cluster", Value: caddyconfig.JSON(c, nil)}, nil
}

// validHostPort says whether v is host:port with a port from 1 to 65535.
func validHostPort(v string) bool {
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}
