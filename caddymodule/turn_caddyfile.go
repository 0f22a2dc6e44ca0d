package caddymodule

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("turn", parseTURNOption)
}

// parseTURNOption reads the global option:
//
//	turn {
//		listen <host:port…>
//		tls_listen <host:port…>
//		realm <realm>
//		relay_ip <ip>
//		relay_ports <min-max>
//		secret <secret>
//		allow_peer <cidr…>
//		quota <n>
//	}
func parseTURNOption(d *caddyfile.Dispenser, _ any) (any, error) {
	t := new(TURN)
	d.Next()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "listen", "tls_listen":
			word := d.Val()
			addrs := d.RemainingArgs()
			if len(addrs) == 0 {
				return nil, d.Errf("%s takes one or more host:port", word)
			}
			for _, a := range addrs {
				if _, _, err := net.SplitHostPort(a); err != nil {
					return nil, d.Errf("%s %q is not host:port", word, a)
				}
			}
			if word == "listen" {
				t.Listen = append(t.Listen, addrs...)
			} else {
				t.TLSListen = append(t.TLSListen, addrs...)
			}
		case "realm":
			v, err := optionalArg(d)
			if err != nil || v == "" {
				return nil, d.Err("realm takes one value")
			}
			t.Realm = v
		case "relay_ip":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			if _, err := netip.ParseAddr(v); err != nil {
				return nil, d.Errf("relay_ip %q is not an IP address", v)
			}
			t.RelayIP = v
		case "relay_ports":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			if _, _, err := portRange(v); err != nil {
				return nil, d.Errf("relay_ports: %v", err)
			}
			t.RelayPorts = v
		case "secret":
			v, err := parseSecret(d)
			if err != nil {
				return nil, err
			}
			t.Secret = v
		case "allow_peer":
			for _, v := range d.RemainingArgs() {
				if _, err := netip.ParsePrefix(v); err != nil {
					return nil, d.Errf("allow_peer %q is not a CIDR range", v)
				}
				t.AllowPeer = append(t.AllowPeer, v)
			}
		case "quota":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return nil, d.Errf("quota %q must be a number from 1 to 1000", v)
			}
			t.Quota = n
		default:
			return nil, d.Errf("unknown turn option %q", d.Val())
		}
	}
	if t.RelayIP == "" {
		return nil, d.Err("turn needs relay_ip: the address peers reach the relays at")
	}
	return httpcaddyfile.App{Name: "turn", Value: caddyconfig.JSON(t, nil)}, nil
}
