package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
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
