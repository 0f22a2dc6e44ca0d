package caddymodule

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway"
	"github.com/roomgate/roomgate/webhook"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("roomgate", parseGatewayCaddyfile)
	// The gateway must see the signalling request before reverse_proxy does.
	httpcaddyfile.RegisterDirectiveOrder("roomgate", httpcaddyfile.Before, "reverse_proxy")
}

func parseGatewayCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	g := new(Gateway)
	err := g.UnmarshalCaddyfile(h.Dispenser)
	return g, err
}

// UnmarshalCaddyfile sets up the gateway from Caddyfile tokens:
//
//	roomgate {
//		secret <secret>
//		host_protected [on|off]
//		user_auth [on|off]
//		user <username> <bcrypt or argon2id hash> [rooms <room,room…>]
//		oidc <issuer URL> { … }             (oidc_caddyfile.go)
//		users_json <json>
//		token_ttl <duration>
//		invitation_ttl <duration>
//		invitation_uses <n>
//		signal_path <path>
//		host_grace <duration>
//		api_key <key>
//		auto_create_rooms [on|off]
//		turn <url…>
//		turn_ttl <duration>
//		max_connections_per_address <n|off>
//		webhook <url…>
//		webhook_secret <secret>
//		webhook_retry_max <duration>
//		pin_rooms [on|off]
//		region <name>
//	}
func (g *Gateway) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "secret":
			v, err := parseSecret(d)
			if err != nil {
				return err
			}
			g.Secret = v
		case "host_protected":
			v, err := parseFlag(d)
			if err != nil {
				return err
			}
			g.HostProtected = v
		case "user_auth":
			v, err := parseFlag(d)
			if err != nil {
				return err
			}
			g.UserAuth = v
		case "user":
			u, err := parseUser(d)
			if err != nil {
				return err
			}
			g.Users = append(g.Users, u)
		case "oidc":
			if g.OIDC != nil {
				return d.Err("oidc is configured twice: one identity provider per site")
			}
			c, err := parseOIDC(d)
			if err != nil {
				return err
			}
			g.OIDC = c
		case "users_json":
			v, err := optionalArg(d) // empty when {$HOST_USERS} is unset
			if err != nil {
				return err
			}
			g.UsersJSON = v
		case "token_ttl":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			if dur < time.Minute {
				return d.Errf("token_ttl %v is shorter than a minute", dur)
			}
			g.TokenTTL = caddy.Duration(dur)
		case "invitation_ttl":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			if dur < time.Minute {
				return d.Errf("invitation_ttl %v is shorter than a minute", dur)
			}
			g.InvitationTTL = caddy.Duration(dur)
		case "invitation_uses":
			v, err := optionalArg(d)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000000 {
				return d.Errf("invitation_uses %q must be a number from 1 to 1000000", v)
			}
			g.InvitationUses = n
		case "signal_path":
			v, err := optionalArg(d)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(v, "/") {
				return d.Errf("signal_path %q must start with /", v)
			}
			g.SignalPath = v
		case "auto_create_rooms":
			v, err := parseFlag(d)
			if err != nil {
				return err
			}
			g.AutoCreateRooms = &v
		case "api_key":
			v, err := optionalArg(d) // empty when {$ROOMGATE_API_KEY} is unset: no API
			if err != nil {
				return err
			}
			if v != "" && !strings.Contains(v, "{") && len(v) < minAPIKeyLen {
				return d.Errf("api_key is %d characters; it must be at least %d", len(v), minAPIKeyLen)
			}
			g.APIKey = v
		case "host_grace":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			g.HostGrace = caddy.Duration(dur)
		case "turn":
			urls := d.RemainingArgs()
			if len(urls) == 0 {
				return d.Err("turn takes one or more turn: or turns: URLs")
			}
			for _, u := range urls {
				if !strings.Contains(u, "{") && !gateway.ValidTURNURL(u) {
					return d.Errf("turn %q must be turn:host[:port][?transport=udp|tcp] or turns:…", u)
				}
			}
			g.TURN = append(g.TURN, urls...)
		case "max_connections_per_address":
			v, err := optionalArg(d)
			if err != nil {
				return err
			}
			if v == "off" {
				g.MaxConnsPerAddress = -1
				break
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000000 {
				return d.Errf("max_connections_per_address %q must be a positive number or off", v)
			}
			g.MaxConnsPerAddress = n
		case "webhook":
			urls := d.RemainingArgs()
			if len(urls) == 0 {
				return d.Err("webhook takes one or more http:// or https:// URLs")
			}
			for _, u := range urls {
				if p, err := url.Parse(u); !strings.Contains(u, "{") && (err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "") {
					return d.Errf("webhook %q must be an http:// or https:// URL", u)
				}
			}
			g.Webhooks = append(g.Webhooks, urls...)
		case "webhook_secret":
			v, err := optionalArg(d)
			if err != nil || v == "" {
				return d.Err("webhook_secret takes one secret")
			}
			if !strings.Contains(v, "{") {
				if _, err := webhook.ParseSecret(v); err != nil {
					return d.Err(err.Error())
				}
			}
			g.WebhookSecret = v
		case "webhook_retry_max":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			if dur < 100*time.Millisecond {
				return d.Err("webhook_retry_max must be at least 100ms")
			}
			g.WebhookRetryMax = caddy.Duration(dur)
		case "pin_rooms":
			v, err := parseFlag(d)
			if err != nil {
				return err
			}
			g.PinRooms = v
		case "region":
			v, err := optionalArg(d)
			if err != nil || v == "" {
				return d.Err("region takes one name")
			}
			g.Region = v
		case "turn_ttl":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			if dur < 10*time.Second {
				return d.Errf("turn_ttl %v is shorter than 10 seconds: peers would miss it", dur)
			}
			g.TURNTTL = caddy.Duration(dur)
		default:
			return d.Errf("unknown roomgate option %q", d.Val())
		}
	}
	return nil
}

// parseSecret reads a secret word. `secret {$ROOMGATE_SECRET}` with the
// variable unset leaves it empty: the stored secret is used.
func parseSecret(d *caddyfile.Dispenser) (string, error) {
	v, err := optionalArg(d)
	if err != nil {
		return "", err
	}
	if v != "" && !strings.Contains(v, "{") && len(v) < accesstoken.MinSecretLen {
		return "", d.Errf("secret is %d bytes; it must be at least %d", len(v), accesstoken.MinSecretLen)
	}
	return v, nil
}

// optionalArg reads the one argument an option may have ("" when none).
func optionalArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", nil
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return v, nil
}

// parseFlag reads a switch that may stand alone (on) or take on/off.
func parseFlag(d *caddyfile.Dispenser) (bool, error) {
	name := d.Val()
	if !d.NextArg() {
		return true, nil
	}
	var v bool
	switch strings.ToLower(d.Val()) {
	case "on", "true", "yes", "1":
		v = true
	case "off", "false", "no", "0", "":
	default:
		return false, d.Errf("%s takes on or off, not %q", name, d.Val())
	}
	if d.NextArg() {
		return false, d.ArgErr()
	}
	return v, nil
}

func parseUser(d *caddyfile.Dispenser) (UserConfig, error) {
	var u UserConfig
	if !d.Args(&u.Username, &u.Password) {
		return u, d.Err("user takes a username and a password hash: user <name> <hash> [rooms a,b]")
	}
	if _, err := comparerFor(u.Password); err != nil && !strings.Contains(u.Password, "{") {
		return u, d.Errf("the password of user %q is %v; make one with `roomgate hash-password`", u.Username, err)
	}
	if d.NextArg() {
		if d.Val() != "rooms" || !d.NextArg() {
			return u, d.Errf("after the hash of user %q only `rooms <room,room…>` may follow", u.Username)
		}
		for r := range strings.SplitSeq(d.Val(), ",") {
			if r = strings.TrimSpace(r); r != "*" && !accesstoken.ValidRoom(r) {
				return u, d.Errf("room %q of user %q must be 1-64 of A-Z a-z 0-9 _ -", r, u.Username)
			}
			u.Rooms = append(u.Rooms, r)
		}
		if d.NextArg() {
			return u, d.ArgErr()
		}
	}
	return u, nil
}

func parseDuration(d *caddyfile.Dispenser) (time.Duration, error) {
	name := d.Val()
	if !d.NextArg() {
		return 0, d.ArgErr()
	}
	dur, err := caddy.ParseDuration(d.Val())
	if err != nil || dur < 0 {
		return 0, d.Errf("%s: %q is not a duration", name, d.Val())
	}
	if d.NextArg() {
		return 0, d.ArgErr()
	}
	return dur, nil
}

var _ caddyfile.Unmarshaler = (*Gateway)(nil)
