package mediaserver

import (
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// tcpWriteBuffer lets an ICE-TCP peer that stops reading lose its own packets
// instead of blocking the writes to everyone else.
const tcpWriteBuffer = 4 << 20

// engine is what every peer connection is made with: one API for the
// connections peers publish on, the media engine and settings of those they
// receive on (each gets its own bandwidth estimator), and the sockets all
// share.
type engine struct {
	publish        *webrtc.API
	subscribeMedia *webrtc.MediaEngine
	settings       webrtc.SettingEngine
	closers        []io.Closer
	// bursts gathers the forwarding goroutines' writes into sendmmsg calls.
	bursts *bursts
}

// newEngine opens the shared sockets and builds the two APIs.
func newEngine(cfg *Config) (*engine, error) {
	keep, loopback := ipFilter(cfg.ICEIPs)
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// ICE-lite: the server answers the client's checks and makes none of its
	// own, so a connection is up as soon as the client's first check and
	// nomination get through (as a full agent it checked every 200 ms and
	// its first check could go before it knew the client's candidates). Its
	// candidates are all host ones (public_ip rewrites them), as lite wants.
	se.SetLite(true)
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
	if e.subscribeMedia, err = subscribeMedia(); err != nil {
		e.close()
		return nil, err
	}
	e.settings = se
	return e, nil
}

func (e *engine) close() { closeAll(e.closers) }

// publisherNacksPerPacket is how many times a publisher's lost packet is
// asked for. pion's NACK generator never learns of a packet repaired on
// the RTX stream (browsers repair on it), and asked for each one every
// 100 ms until 512 newer packets had come: a browser's lowest layer, at
// 30 packets a second, was asked for each lost packet some 150 times, and
// the retransmissions took the uplink its top layer needed. Twice covers
// one lost repair.
const publisherNacksPerPacket = 2

// publishAPI makes the connections peers publish on: the server asks for
// what it lost (NACK, a bounded number of times), reports reception, and
// gives transport-wide feedback for the publisher's bandwidth estimate.
// It sends no media on them, so it answers no NACKs.
func publishAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	// Any Opus a publisher offers is answered (publishOpusFmtp says why).
	m, err := mediaEngineWithOpus(publishOpusFmtp)
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	nacks, err := nack.NewGeneratorInterceptor(nack.GeneratorMaxNacksPerPacket(publisherNacksPerPacket))
	if err != nil {
		return nil, err
	}
	ir.Add(nacks)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, err
	}
	// The extensions passed on to subscribers (extensions.go); publishers'
	// audio levels also choose the active speaker (speaker.go).
	if err := registerKeptExtensions(m); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

func registerKeptExtensions(m *webrtc.MediaEngine) error {
	for kind, uris := range keptExtensionURIs {
		for _, uri := range uris {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, kind); err != nil {
				return err
			}
		}
	}
	return nil
}

// subscribeMedia is what the connections peers receive on negotiate.
// Subscribers may send NACKs and keyframe requests, and transport-wide
// congestion control feedback on every packet, audio and video, for the
// estimate of what their link carries.
func subscribeMedia() (*webrtc.MediaEngine, error) {
	m, err := mediaEngine()
	if err != nil {
		return nil, err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, err
		}
	}
	if err := registerKeptExtensions(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Bounds of a subscriber's bandwidth estimate, in bits per second. It
// starts where the top layers of a small meeting fit, so that a subscriber
// on a good link does not start on thumbnails and climb for half a minute;
// a weak link brings it down within a quarter of a second of its first
// feedback (mediaserver/bwe).
const (
	initialEstimate = 10_000_000
	minEstimate     = 30_000
	maxEstimate     = 50_000_000
)

// newSubscriber makes a connection a peer receives on, with its own
// send-side bandwidth estimate over the subscriber's transport-wide
// feedback (transportcc.go); fb counts what the feedback reported.
// fanoutTrack answers NACKs from one history per track, so pion's
// responder, which copies every packet for every subscriber, is left out,
// and so is the stats interceptor, which clones every header for GetStats,
// never called here. Packets are not paced: what the estimate cannot carry
// is not forwarded (allocate.go).
func (e *engine) newSubscriber(fb *feedbackCount) (*webrtc.PeerConnection, *bwe.Estimator, error) {
	est := bwe.New(bwe.Config{Initial: initialEstimate, Min: minEstimate, Max: maxEstimate})
	ir := &interceptor.Registry{}
	tc := &transportCC{est: est, feedback: fb}
	// First: it numbers each packet last before it is sent.
	ir.Add(transportCCFactory{tc})
	// Sender reports let receivers keep audio and video in sync.
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, nil, err
	}
	ir.Add(pastReportsFactory{tc})
	ir.Add(reusedAttributesFactory{})
	// The feedback is taken out of the RTCP as it is decrypted, whichever
	// stream it is addressed to.
	se := e.settings
	se.BufferFactory = tc.buffer
	api := webrtc.NewAPI(webrtc.WithMediaEngine(e.subscribeMedia), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	return pc, est, nil
}

// mediaEngine is pion's default codecs with Opus as opusFmtp says: what the
// connections subscribers receive on offer.
func mediaEngine() (*webrtc.MediaEngine, error) {
	return mediaEngineWithOpus(opusFmtp)
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

// reusedAttributes gives each stream a subscriber receives one Attributes
// map for all its packets: handed none, the estimator's writer makes one
// per packet, and then grows it. A stream's writes never overlap (its
// binding's lock is held), so one map serves them all.
type reusedAttributes struct{ interceptor.NoOp }

type reusedAttributesFactory struct{}

func (reusedAttributesFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &reusedAttributes{}, nil
}

func (*reusedAttributes) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	attrs := interceptor.Attributes{}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, a interceptor.Attributes) (int, error) {
		if a == nil {
			a = attrs
		}
		return w.Write(h, p, a)
	})
}
