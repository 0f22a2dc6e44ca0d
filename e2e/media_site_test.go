package e2e

import (
	"context"
	"fmt"
	"github.com/pion/sdp/v3"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// mediaSite is roomgate with the gateway and the media server in one process.
type mediaSite struct {
	*caddyrun.Instance
	port       int // the site
	signalPort int // the media server's own signalling port
	udpPort    int // the media server's UDP port
}

func newMediaSite(t testing.TB, words string) *mediaSite {
	t.Helper()
	return newMediaSiteWith(t, words, "")
}

// newMediaSiteWith is newMediaSite with more mediaserver options.
func newMediaSiteWith(t testing.TB, words, mediaWords string) *mediaSite {
	t.Helper()
	return newMediaSiteConfig(t, siteConfig{words: words, mediaWords: mediaWords})
}

// siteConfig is what a test adds to the media site's Caddyfile.
type siteConfig struct {
	words      string // in the roomgate block
	mediaWords string // in the mediaserver block
	globals    string // more global options, such as a turn block
	siteWords  string // more site directives, such as tls internal
	https      bool   // serve https://localhost:port
	// secret is how the Caddyfile gives the master secret; default: the
	// test secret itself. env is the process's environment.
	secret string
	env    []string
	// iceIPs are the media server's ICE addresses; default: 127.0.0.1/32.
	iceIPs string
	// anyHost serves the site under every name (http://:port), as the
	// repository's Caddyfile does by default; else only localhost.
	anyHost bool
	// noUsers leaves out the `user alice` line: hosts log in otherwise.
	noUsers bool
}

func newMediaSiteConfig(t testing.TB, c siteConfig) *mediaSite {
	t.Helper()
	port, sig, udp, tcp := caddyrun.FreePort(t), caddyrun.FreePort(t), caddyrun.FreePort(t), caddyrun.FreePort(t)
	scheme := "http"
	if c.https {
		scheme = "https"
	}
	if c.secret == "" {
		c.secret = testSecret
	}
	host := "localhost"
	if c.anyHost {
		host = ""
	}
	if c.iceIPs == "" {
		c.iceIPs = "127.0.0.1/32"
	}
	users := "user alice " + testPasswordHash(t)
	if c.noUsers {
		users = ""
	}
	cf := fmt.Sprintf(`{
	mediaserver {
		signal 127.0.0.1:%d
		udp_port %d
		tcp_port %d
		ice_ips %s
		secret %s
		%s
	}
	%s
}
%s://%s:%d {
	%s
	roomgate {
		secret %s
		%s
		%s
	}
	reverse_proxy /ws 127.0.0.1:%d {
		stream_close_delay 5m
	}
}
`, sig, udp, tcp, c.iceIPs, c.secret, c.mediaWords, c.globals, scheme, host, port, c.siteWords, c.secret, users, c.words, sig)
	return &mediaSite{Instance: caddyrun.Start(t, cf, c.env...), port: port, signalPort: sig, udpPort: udp}
}

func (s *mediaSite) person(t testing.TB, ip string) *person { return newPerson(t, ip, s.port) }

// loopbackAPI makes peer connections that gather only loopback candidates.
func loopbackAPI(t testing.TB, o joinOpts) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	// As browsers do: audio levels, so the server can tell who speaks; the
	// video orientation; mid and rid, for simulcast.
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: videoOrientationURI}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if o.tcpOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	if o.conn != nil {
		se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, o.conn))
	}
	if o.acceptRepeats {
		se.DisableSRTPReplayProtection(true)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// joinOpts shape one pion peer's entry.
type joinOpts struct {
	token string
	name  string
	conn  net.PacketConn // the peer's UDP socket; nil: pion's own
	// acceptRepeats turns SRTP replay protection off, so that a packet sent
	// again reaches the track.
	acceptRepeats bool
	// tcpOnly restricts the peer to ICE-TCP, as behind a firewall without UDP.
	tcpOnly bool
	// relay makes the peer use only TURN relays (ICETransportPolicy relay).
	relay bool
}

// join enters room through the gateway as a pion peer.
func (p *person) join(room string, o joinOpts) (*signal.Client, error) {
	p.t.Helper()
	q := url.Values{"room": {room}}
	if o.name != "" {
		q.Set("name", o.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := signal.Dial(ctx, fmt.Sprintf("ws://localhost:%d/ws?%s", p.port, q.Encode()), signal.DialOptions{
		Token:      o.token,
		Header:     http.Header{"Origin": {p.base}},
		HTTPClient: &http.Client{Transport: transportFrom(p.ip, p.port)},
		API:        loopbackAPI(p.t, o),
		Configuration: webrtc.Configuration{ICETransportPolicy: map[bool]webrtc.ICETransportPolicy{
			false: webrtc.ICETransportPolicyAll, true: webrtc.ICETransportPolicyRelay}[o.relay]},
	})
	if err == nil {
		p.t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func (p *person) mustJoin(room string, o joinOpts) *signal.Client {
	p.t.Helper()
	c, err := p.join(room, o)
	if err != nil {
		p.t.Fatalf("%s joining %s: %v", p.ip, room, err)
	}
	return c
}

// publishAV publishes an audio and a video track carrying synthetic RTP at
// 50 packets a second each, until the client leaves. It returns a counter of
// the video packets sent.
func publishAV(t testing.TB, c *signal.Client) *sentCounter {
	t.Helper()
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "cam")
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "cam")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Publish(ctx, audio, video); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	sent := &sentCounter{}
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		payload := make([]byte, 200)
		for seq := uint16(0); ; seq++ {
			select {
			case <-c.Done():
				return
			case <-tick.C:
			}
			ts := uint32(seq) * 960
			audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload[:80]})
			// A VP8 payload descriptor marking a keyframe start, so decoders are content.
			payload[0], payload[1] = 0x10, 0x00
			video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts * 2, Marker: true}, Payload: payload})
			sent.add()
		}
	}()
	return sent
}

type sentCounter struct {
	mu sync.Mutex
	n  int
}

func (s *sentCounter) add() { s.mu.Lock(); s.n++; s.mu.Unlock() }
func (s *sentCounter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// receiver counts the RTP packets a client receives, per publisher and kind,
// and notes which tracks ended.
type receiver struct {
	mu      sync.Mutex
	packets map[string]int  // "peer/kind"
	ended   map[string]bool // "peer/kind"
	changed chan struct{}
}

func receive(c *signal.Client) *receiver {
	r := &receiver{packets: map[string]int{}, ended: map[string]bool{}, changed: make(chan struct{}, 1)}
	go func() {
		for {
			select {
			case rt := <-c.Tracks():
				go r.read(rt)
			case <-c.Done():
				return
			}
		}
	}()
	return r
}

func (r *receiver) read(rt *signal.RemoteTrack) {
	key := rt.Peer + "/" + rt.Track.Kind().String()
	buf := make([]byte, 1500)
	for {
		_, _, err := rt.Track.Read(buf)
		r.mu.Lock()
		if err != nil {
			r.ended[key] = true
		} else {
			r.packets[key]++
		}
		r.mu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// count returns how many packets came from peer's kind track.
func (r *receiver) count(peer, kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets[peer+"/"+kind]
}

// publishers lists the peers whose packets arrived.
func (r *receiver) publishers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for k := range r.packets {
		p := k[:strings.IndexByte(k, '/')]
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// waitFor waits, on the receiver's own notifications, until cond holds.
func (r *receiver) waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.After(d)
	for !cond() {
		select {
		case <-r.changed:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// hears waits until n packets of both audio and video came from each peer.
func (r *receiver) hears(n int, peers ...string) bool {
	return r.waitFor(15*time.Second, func() bool {
		for _, p := range peers {
			if r.count(p, "audio") < n || r.count(p, "video") < n {
				return false
			}
		}
		return true
	})
}

func (r *receiver) trackEnded(peer, kind string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended[peer+"/"+kind]
}

// nextEvent returns the next event of type typ, skipping others.
func nextEvent(c *signal.Client, typ string, d time.Duration) *signal.Message {
	deadline := time.After(d)
	for {
		select {
		case m := <-c.Events():
			if m.Type == typ {
				return m
			}
		case <-deadline:
			return nil
		}
	}
}
