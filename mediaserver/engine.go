package mediaserver

import (
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// tcpWriteBuffer lets an ICE-TCP peer that stops reading lose its own packets
// instead of blocking the writes to everyone else.
const tcpWriteBuffer = 4 << 20

// newAPI builds the pion API every peer connection is made with: codecs,
// the default interceptors (NACK, RTCP reports, TWCC), and the sockets
// shared by all peers. The closers release the sockets.
func newAPI(cfg *Config) (*webrtc.API, []io.Closer, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, nil, err
	}

	keep, loopback := ipFilter(cfg.ICEIPs)
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(keep)
	se.SetIncludeLoopbackCandidate(loopback)

	var closers []io.Closer
	udpOpts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithIPFilter(keep)}
	if loopback {
		udpOpts = append(udpOpts, ice.UDPMuxFromPortWithLoopback())
	}
	udpMux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, udpOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("udp_port %d: %w", cfg.UDPPort, err)
	}
	closers = append(closers, udpMux)
	se.SetICEUDPMux(udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}

	if cfg.TCPPort != 0 {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.TCPPort))
		if err != nil {
			udpMux.Close()
			return nil, nil, fmt.Errorf("tcp_port %d: %w", cfg.TCPPort, err)
		}
		tcpMux := ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: l, ReadBufferSize: 32, WriteBufferSize: tcpWriteBuffer})
		closers = append(closers, tcpMux)
		se.SetICETCPMux(tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)

	if len(cfg.PublicIPs) > 0 {
		ext := make([]string, len(cfg.PublicIPs))
		for i, ip := range cfg.PublicIPs {
			ext[i] = ip.String()
		}
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: ext, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			closeAll(closers)
			return nil, nil, fmt.Errorf("public_ip: %w", err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return api, closers, nil
}

// ipFilter keeps the local addresses within ranges (all but loopback when
// there are none) and says whether loopback is among them.
func ipFilter(ranges []netip.Prefix) (keep func(net.IP) bool, loopback bool) {
	if len(ranges) == 0 {
		return func(ip net.IP) bool { return !ip.IsLoopback() }, false
	}
	for _, p := range ranges {
		if p.Contains(netip.MustParseAddr("127.0.0.1")) || p.Contains(netip.IPv6Loopback()) {
			loopback = true
		}
	}
	return func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return false
		}
		a = a.Unmap()
		for _, p := range ranges {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}, loopback
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}
