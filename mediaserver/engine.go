package mediaserver

import (
	"fmt"
	"github.com/pion/sdp/v3"
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

// engine is what every peer connection is made with: one API for the
// connections peers publish on, one for those they receive on, and the
// sockets both share.
type engine struct {
	publish, subscribe *webrtc.API
	closers            []io.Closer
	// bursts gathers the forwarding goroutines' writes into sendmmsg calls.
	bursts *bursts
}

// newEngine opens the shared sockets and builds the two APIs.
func newEngine(cfg *Config) (*engine, error) {
	keep, loopback := ipFilter(cfg.ICEIPs)
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(keep)
	se.SetIncludeLoopbackCandidate(loopback)

	e := &engine{bursts: &bursts{}}
	udpMux, err := newBatchUDPMux(cfg.UDPPort, keep, loopback, e.bursts)
	if err != nil {
		return nil, fmt.Errorf("udp_port %d: %w", cfg.UDPPort, err)
	}
	e.closers = append(e.closers, udpMux)
	se.SetICEUDPMux(udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}

	if cfg.TCPPort != 0 {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.TCPPort))
		if err != nil {
			e.close()
			return nil, fmt.Errorf("tcp_port %d: %w", cfg.TCPPort, err)
		}
		tcpMux := ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: l, ReadBufferSize: 32, WriteBufferSize: tcpWriteBuffer})
		e.closers = append(e.closers, tcpMux)
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
			e.close()
			return nil, fmt.Errorf("public_ip: %w", err)
		}
	}
	if e.publish, err = publishAPI(se); err != nil {
		e.close()
		return nil, err
	}
	if e.subscribe, err = subscribeAPI(se); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *engine) close() { closeAll(e.closers) }

// publishAPI makes the connections peers publish on: the server asks for
// what it lost (NACK), reports reception, and gives transport-wide feedback
// for the publisher's bandwidth estimate.
func publishAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	m, err := mediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, err
	}
	// Publishers' audio levels choose the active speaker (speaker.go).
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// subscribeAPI makes the connections peers receive on. Subscribers may send
// NACKs and keyframe requests; fanoutTrack answers NACKs from one history
// per track, so pion's responder, which copies every packet for every
// subscriber, is left out, and so is the stats interceptor, which clones
// every header for GetStats, never called here.
func subscribeAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	m, err := mediaEngine()
	if err != nil {
		return nil, err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir := &interceptor.Registry{}
	// Sender reports let receivers keep audio and video in sync.
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// mediaEngine is pion's default codecs with Opus as opusFmtp says.
func mediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	// Registered first, this Opus takes payload type 111; the default one
	// that follows is the same codec and is skipped.
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	return m, nil
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
