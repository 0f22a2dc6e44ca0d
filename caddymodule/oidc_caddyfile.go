package caddymodule

import (
	"errors"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin/oidc"
)

// parseOIDC reads the oidc block of the roomgate directive:
//
//	oidc <issuer URL> {
//		client_id <id>
//		client_secret {env.NAME}
//		scopes <scope…>
//		username_claim <claim…>
//		groups_claim <claim>
//		label <text>
//		allow everyone
//		allow email_domain <domain…>
//		allow group <value> [rooms <room,room…>]
//		participants everyone | email_domain <domain…> | group <value…>
//	}
func parseOIDC(d *caddyfile.Dispenser) (*OIDCConfig, error) {
	file, line := d.File(), d.Line()
	// A mistake found only at the block's end is reported at its first line.
	atStart := func(msg string) error { return fmt.Errorf("%w, at %s:%d", errors.New(msg), file, line) }
	c := new(OIDCConfig)
	if !d.NextArg() {
		return nil, d.Err("oidc takes the identity provider's issuer URL: oidc https://id.example.com/realms/acme { … }")
	}
	c.Issuer = d.Val()
	if !strings.Contains(c.Issuer, "{") {
		if err := oidc.CheckIssuer(c.Issuer); err != nil {
			return nil, d.Err(err.Error())
		}
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	secretSeen := false
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch word := d.Val(); word {
		case "client_id":
			if !d.Args(&c.ClientID) || d.NextArg() {
				return nil, d.Err("client_id takes roomgate's client id at the identity provider")
			}
		case "client_secret":
			if err := parseClientSecret(d, c); err != nil {
				return nil, err
			}
			secretSeen = true
		case "scopes":
			c.Scopes = d.RemainingArgs()
			if len(c.Scopes) == 0 {
				return nil, d.Err("scopes takes one or more scopes beyond openid (profile email groups…)")
			}
		case "username_claim":
			c.UsernameClaims = d.RemainingArgs()
			if len(c.UsernameClaims) == 0 {
				return nil, d.Err("username_claim takes one or more claim names, tried in order (preferred_username email)")
			}
		case "groups_claim":
			if !d.Args(&c.GroupsClaim) || d.NextArg() {
				return nil, d.Err("groups_claim takes the name of the claim holding the groups")
			}
		case "label":
			if !d.Args(&c.Label) || d.NextArg() || c.Label == "" {
				return nil, d.Err(`label takes the provider's name for the button, quoted if it has spaces: label "Acme SSO"`)
			}
		case "allow":
			if err := parseAllow(d, c); err != nil {
				return nil, err
			}
		case "participants":
			if err := parseParticipants(d, c); err != nil {
				return nil, err
			}
		default:
			return nil, d.Errf("unknown oidc option %q", word)
		}
	}
	switch {
	case c.ClientID == "":
		return nil, atStart("oidc needs client_id: roomgate's client id at the identity provider")
	case !secretSeen:
		return nil, atStart("oidc needs client_secret {env.NAME}: the client secret, read from the environment")
	case !c.AllowEveryone && len(c.AllowEmailDomains) == 0 && len(c.AllowGroups) == 0:
		return nil, atStart("oidc must say who may be a host: allow everyone, allow email_domain <domain…>, or allow group <group> [rooms …]")
	case c.AllowEveryone && (len(c.AllowEmailDomains) > 0 || len(c.AllowGroups) > 0):
		return nil, atStart("oidc: allow everyone makes the other allow lines meaningless; keep one or the other")
	}
	return c, nil
}

// parseClientSecret takes the secret as a placeholder only, so that it is
// in no configuration file, adapted JSON or log; the value is never
// repeated in an error.
func parseClientSecret(d *caddyfile.Dispenser, c *OIDCConfig) error {
	if !d.NextArg() {
		return d.Err("client_secret takes the client secret from the environment: client_secret {env.NAME}")
	}
	v := d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	if !envPlaceholder.MatchString(v) {
		return d.Err("client_secret must be read from the environment: write {env.NAME}, not the secret (nor {$NAME}, which puts it in the adapted config)")
	}
	if name, ok := envSet(v); !ok {
		return d.Errf("client_secret: the environment variable %s is empty or not set", name)
	}
	c.ClientSecret = v
	return nil
}

func parseAllow(d *caddyfile.Dispenser, c *OIDCConfig) error {
	if !d.NextArg() {
		return d.Err("allow takes everyone, email_domain <domain…> or group <group> [rooms <room,room…>]")
	}
	switch d.Val() {
	case "everyone":
		if d.NextArg() {
			return d.ArgErr()
		}
		c.AllowEveryone = true
	case "email_domain":
		domains := d.RemainingArgs()
		if len(domains) == 0 {
			return d.Err("allow email_domain takes one or more domains: allow email_domain example.com")
		}
		for _, dom := range domains {
			if err := oidc.CheckDomain(dom); err != nil {
				return d.Err(err.Error())
			}
		}
		c.AllowEmailDomains = append(c.AllowEmailDomains, domains...)
	case "group":
		var g OIDCGroup
		if !d.Args(&g.Group) {
			return d.Err("allow group takes the group's value as the provider sends it: allow group hosts [rooms a,b]")
		}
		if d.NextArg() {
			if d.Val() != "rooms" || !d.NextArg() {
				return d.Errf("after allow group %q only `rooms <room,room…>` may follow", g.Group)
			}
			for r := range strings.SplitSeq(d.Val(), ",") {
				if r = strings.TrimSpace(r); r != "*" && !accesstoken.ValidRoom(r) {
					return d.Errf("room %q of group %q must be 1-64 of A-Z a-z 0-9 _ -", r, g.Group)
				}
				g.Rooms = append(g.Rooms, r)
			}
			if d.NextArg() {
				return d.ArgErr()
			}
		}
		c.AllowGroups = append(c.AllowGroups, g)
	default:
		return d.Errf("allow takes everyone, email_domain or group, not %q", d.Val())
	}
	return nil
}

// parseParticipants reads who, beside the hosts, may log in to join rooms
// of a user_auth site.
func parseParticipants(d *caddyfile.Dispenser, c *OIDCConfig) error {
	if c.Participants == nil {
		c.Participants = new(OIDCParticipants)
	}
	p := c.Participants
	if !d.NextArg() {
		return d.Err("participants takes everyone, email_domain <domain…> or group <group…>")
	}
	kind, args := d.Val(), d.RemainingArgs()
	switch kind {
	case "everyone":
		if len(args) > 0 {
			return d.ArgErr()
		}
		p.Everyone = true
	case "email_domain":
		if len(args) == 0 {
			return d.Err("participants email_domain takes one or more domains: participants email_domain example.com")
		}
		for _, dom := range args {
			if err := oidc.CheckDomain(dom); err != nil {
				return d.Err(err.Error())
			}
		}
		p.EmailDomains = append(p.EmailDomains, args...)
	case "group":
		if len(args) == 0 {
			return d.Err("participants group takes one or more of the groups claim's values: participants group staff")
		}
		p.Groups = append(p.Groups, args...)
	default:
		return d.Errf("participants takes everyone, email_domain or group, not %q", kind)
	}
	if p.Everyone && (len(p.EmailDomains) > 0 || len(p.Groups) > 0) {
		return d.Err("participants everyone makes the other participants lines meaningless; keep one or the other")
	}
	return nil
}
