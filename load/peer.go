package load

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// peer is one simulated person: a signalling client, what it publishes and
// what it receives.
type peer struct {
	c         *signal.Client
	joinStart time.Time
	firstRTP  atomic.Int64 // Unix nanoseconds of the first packet received; 0: none yet
	gotFirst  chan struct{}
	firstOnce sync.Once

	mu     sync.Mutex
	tracks []*trackStats
	// speakers counts the speaker messages the peer heard.
	speakers atomic.Uint64
}

// trackStats follows one received track; only its reader writes.
type trackStats struct {
	packets, bytes atomic.Uint64
	highest        atomic.Int64 // extended sequence number of the newest packet; -1 before any
	first          atomic.Int64 // that of the first packet
}

// trackMark is a track's figures at one moment.
type trackMark struct {
	packets, bytes uint64
	highest        int64
}

func (t *trackStats) mark() trackMark {
	return trackMark{t.packets.Load(), t.bytes.Load(), t.highest.Load()}
}

// newAPI makes the peer connections' API: no mDNS, and loopback candidates
// only when the server is on loopback (a load run on one machine).
func newAPI(site string) *webrtc.API {
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if u, err := url.Parse(site); err == nil {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host == "localhost" || (ip != nil && ip.IsLoopback()) {
			se.SetIncludeLoopbackCandidate(true)
			se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
			se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		}
	}
	// As a browser: audio levels (the server chooses speakers by them),
	// and mid and rid for simulcast; pion's default interceptors, which
	// give the server transport-wide feedback for its estimates.
	m := &webrtc.MediaEngine{}
	ir := &interceptor.Registry{}
	if err := errors.Join(m.RegisterDefaultCodecs(),
		m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio),
		webrtc.ConfigureSimulcastExtensionHeaders(m),
		webrtc.RegisterDefaultInterceptors(m, ir)); err != nil {
		panic(err) // only with codecs or extensions registered twice
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir))
}

// join enters the room through the gateway and starts counting what arrives.
func (r *runner) join(ctx context.Context, name string) (*peer, error) {
	tok, err := r.token(ctx, name)
	if err != nil {
		return nil, err
	}
	q := url.Values{"room": {r.cfg.Room}, "name": {name}}
	u := r.wsBase + r.cfg.SignalPath + "?" + q.Encode()
	p := &peer{joinStart: time.Now(), gotFirst: make(chan struct{})}
	dctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	c, err := signal.Dial(dctx, u, signal.DialOptions{
		Token:      tok,
		Header:     http.Header{"Origin": {r.origin}},
		HTTPClient: r.http,
		API:        r.api,
	})
	if err != nil {
		return nil, err
	}
	p.c = c
	go p.receive()
	return p, nil
}

func (p *peer) receive() {
	for {
		select {
		case m := <-p.c.Events():
			if m.Type == signal.TypeSpeaker {
				p.speakers.Add(1)
			}
		case rt := <-p.c.Tracks():
			t := &trackStats{}
			t.highest.Store(-1)
			p.mu.Lock()
			p.tracks = append(p.tracks, t)
			p.mu.Unlock()
			go p.read(rt.Track, t)
		case <-p.c.Done():
			return
		}
	}
}

// read counts a track's packets and follows its sequence numbers, reading
// only the fixed header: the payload is synthetic.
func (p *peer) read(tr *webrtc.TrackRemote, t *trackStats) {
	buf := make([]byte, 1500)
	var lastSeq uint16
	var ext int64 = -1
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		seq := binary.BigEndian.Uint16(buf[2:4])
		switch d := int16(seq - lastSeq); {
		case ext < 0:
			ext, lastSeq = int64(seq), seq
			t.first.Store(ext)
		case d > 0: // forward, across a wrap too; a late packet moves nothing
			ext, lastSeq = ext+int64(d), seq
		}
		t.highest.Store(ext)
		t.packets.Add(1)
		t.bytes.Add(uint64(n - 12))
		p.firstOnce.Do(func() {
			p.firstRTP.Store(time.Now().UnixNano())
			close(p.gotFirst)
		})
	}
}

// marks returns every received track's figures now.
func (p *peer) marks() map[*trackStats]trackMark {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[*trackStats]trackMark, len(p.tracks))
	for _, t := range p.tracks {
		m[t] = t.mark()
	}
	return m
}

// joinTime is from the WebSocket dial to the first media packet; 0 if none.
func (p *peer) joinTime() time.Duration {
	if f := p.firstRTP.Load(); f != 0 {
		return time.Duration(f - p.joinStart.UnixNano())
	}
	return 0
}

// publish sends an audio and a video track of synthetic RTP at the given
// rates until ctx ends: the video shaped like VP8 (a keyframe first and
// whenever the server asks), in three simulcast layers with
// cfg.Simulcast; the audio with its level, loud in publisher turn's
// two-second turns out of turns, so the room has a changing speaker.
func (p *peer) publish(ctx context.Context, cfg *Config, turn, turns int) error {
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "load")
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.JoinTimeout)
	defer cancel()
	if !cfg.Simulcast {
		video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "load")
		if err != nil {
			return err
		}
		senders, err := p.c.Publish(pctx, audio, video)
		if err != nil {
			return err
		}
		key := &atomic.Bool{}
		key.Store(true)
		go p.watchKeyframes(senders[1], key)
		go sendVideo(ctx, p.c, video.WriteRTP, cfg.VideoPPS, cfg.VideoBytes, key)
		go sendAudio(ctx, p.c, audio, senders[0], cfg, turn, turns)
		return nil
	}
	senders, err := p.c.Publish(pctx, audio)
	if err != nil {
		return err
	}
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range simulcastRIDs {
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "load", webrtc.WithRTPStreamID(rid))
		if err != nil {
			return err
		}
		layers = append(layers, t)
	}
	keys := make([]*atomic.Bool, len(layers))
	for i := range keys {
		keys[i] = &atomic.Bool{}
		keys[i].Store(true)
	}
	sim, err := p.c.PublishSimulcast(pctx, func(l int) { keys[l].Store(true) }, layers...)
	if err != nil {
		return err
	}
	for i := range layers {
		// The top layer at the configured rate, each one below at a third.
		pps := max(1, cfg.VideoPPS/pow(3, len(layers)-1-i))
		go sendVideo(ctx, p.c, func(pkt *rtp.Packet) error { return sim.WriteRTP(i, pkt) }, pps, cfg.VideoBytes, keys[i])
	}
	go sendAudio(ctx, p.c, audio, senders[0], cfg, turn, turns)
	return nil
}

// simulcastRIDs are the layers' rids, lowest first, as the browser's.
var simulcastRIDs = []string{"q", "h", "f"}

func pow(b, e int) int {
	n := 1
	for range e {
		n *= b
	}
	return n
}

// watchKeyframes turns the server's keyframe requests for a sender into
// the next packet being a keyframe.
func (p *peer) watchKeyframes(s *webrtc.RTPSender, key *atomic.Bool) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				key.Store(true)
			}
		}
	}
}

// sendVideo sends one-packet VP8 frames: each starts a frame (so a server
// may switch layers at any keyframe); key makes the next one a keyframe.
func sendVideo(ctx context.Context, c *signal.Client, write func(*rtp.Packet) error, pps, size int, key *atomic.Bool) {
	if pps == 0 {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(pps))
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.IntN(1 << 16)), Timestamp: rand.Uint32(), Marker: true},
		Payload: make([]byte, max(size, 2))}
	step := 90000 / uint32(pps)
	for {
		select {
		case <-tick.C:
			pkt.SequenceNumber++
			pkt.Timestamp += step
			pkt.Payload[0] = 0x10 // S: a frame starts
			pkt.Payload[1] = 0x01 // P: an inter frame
			if key.Swap(false) {
				pkt.Payload[1] = 0x00
			}
			pkt.Header.Extensions = pkt.Header.Extensions[:0]
			pkt.Header.Extension = false
			if err := write(pkt); err != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-c.Done():
			return
		}
	}
}

// sendAudio sends audio packets with their level: loud in the publisher's
// turns.
func sendAudio(ctx context.Context, c *signal.Client, t *webrtc.TrackLocalStaticRTP, s *webrtc.RTPSender, cfg *Config, turn, turns int) {
	if cfg.AudioPPS == 0 {
		return
	}
	var levelID uint8
	for _, e := range s.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			levelID = uint8(e.ID)
		}
	}
	tick := time.NewTicker(time.Second / time.Duration(cfg.AudioPPS))
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.IntN(1 << 16)), Timestamp: rand.Uint32()},
		Payload: make([]byte, cfg.AudioBytes)}
	step := 48000 / uint32(cfg.AudioPPS)
	for {
		select {
		case now := <-tick.C:
			pkt.SequenceNumber++
			pkt.Timestamp += step
			if levelID != 0 {
				level := uint8(127) // silence
				if int(now.Unix()/2)%max(turns, 1) == turn {
					level = 20
				}
				b, _ := rtp.AudioLevelExtension{Level: level, Voice: level < 127}.Marshal()
				pkt.Header.SetExtension(levelID, b)
			}
			if err := t.WriteRTP(pkt); err != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-c.Done():
			return
		}
	}
}
