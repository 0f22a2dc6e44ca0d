package caddymodule

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/roomgate/roomgate/gateway"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("mediaserver", parseMediaServerOption)
}

// parseMediaServerOption reads the global option:
//
//	mediaserver {
//		signal <host:port>
//		udp_port <port>
//		tcp_port <port|off>
//		public_ip <ip…>
//		ice_ips <cidr…>
//		secret <secret>
//		max_peers_per_room <n>
//		ended_for <duration>
//		lobby_wait <duration>
//		denied_for <duration|off>
//		node_id <name>
//		advertise <host:port>
//		region <name>
//		turn <url…>
//		drain_timeout <duration|off>
//	}
func parseMediaServerOption(d *caddyfile.Dispenser, _ any) (any, error) {
	m := new(MediaServer)
	d.Next()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "signal":
			v, err := optionalArg(d)
			if err != nil || v == "" {
				return nil, d.Err("signal takes host:port")
			}
			m.Signal = v
		case "udp_port":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			if m.UDPPort, err = portOf(v); err != nil {
				return nil, d.Errf("udp_port: %v", err)
			}
		case "tcp_port":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			if v == "off" {
				m.TCPPort = -1
			} else if m.TCPPort, err = portOf(v); err != nil {
				return nil, d.Errf("tcp_port: %v", err)
			}
		case "node_id", "region":
			word := d.Val()
			v, err := optionalArg(d)
			if err != nil || v == "" || len(v) > 64 || strings.ContainsAny(v, " |") {
				return nil, d.Errf("%s takes one name of at most 64 bytes", word)
			}
			if word == "node_id" {
				m.NodeID = v
			} else {
				m.Region = v
			}
		case "ended_for":
			dur, err := parseDuration(d)
			if err != nil {
				return nil, err
			}
			if dur < 0 {
				return nil, d.Err("ended_for must not be negative")
			}
			m.EndedFor = caddy.Duration(dur)
		case "lobby_wait":
			dur, err := parseDuration(d)
			if err != nil {
				return nil, err
			}
			if dur < time.Second {
				return nil, d.Err("lobby_wait must be at least a second")
			}
			m.LobbyWait = caddy.Duration(dur)
		case "denied_for":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			if v == "off" {
				m.DeniedFor = -1
				break
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur < time.Second {
				return nil, d.Errf("denied_for %q must be a duration of at least a second, or off", v)
			}
			m.DeniedFor = caddy.Duration(dur)
		case "drain_timeout":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			if v == "off" {
				m.DrainTimeout = -1
				break
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return nil, d.Errf("drain_timeout %q must be a positive duration, or off", v)
			}
			m.DrainTimeout = caddy.Duration(dur)
		case "advertise":
			v, err := optionalArg(d)
			if err != nil || v == "" {
				return nil, d.Err("advertise takes host:port")
			}
			if _, _, err := net.SplitHostPort(v); err != nil {
				return nil, d.Errf("advertise %q is not host:port", v)
			}
			m.Advertise = v
		case "turn":
			urls := d.RemainingArgs()
			if len(urls) == 0 {
				return nil, d.Err("turn takes one or more turn: or turns: URLs")
			}
			for _, u := range urls {
				if !strings.Contains(u, "{") && !gateway.ValidTURNURL(u) {
					return nil, d.Errf("turn %q must be turn:host[:port][?transport=udp|tcp] or turns:…", u)
				}
			}
			m.TURN = append(m.TURN, urls...)
		case "public_ip": // no value (an unset placeholder): none
			m.PublicIP = append(m.PublicIP, d.RemainingArgs()...)
		case "ice_ips":
			m.ICEIPs = append(m.ICEIPs, d.RemainingArgs()...)
		case "secret":
			v, err := parseSecret(d)
			if err != nil {
				return nil, err
			}
			m.Secret = v
		case "max_peers_per_room":
			v, err := optionalArg(d)
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 2 {
				return nil, d.Errf("max_peers_per_room %q must be a number of at least 2", v)
			}
			m.MaxPeersPerRoom = n
		default:
			return nil, d.Errf("unknown mediaserver option %q", d.Val())
		}
	}
	return httpcaddyfile.App{Name: "mediaserver", Value: caddyconfig.JSON(m, nil)}, nil
}
