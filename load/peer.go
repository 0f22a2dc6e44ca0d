package load

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
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
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
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
// rates until ctx ends.
func (p *peer) publish(ctx context.Context, cfg *Config) error {
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "load")
	if err != nil {
		return err
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "load")
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.JoinTimeout)
	defer cancel()
	if _, err := p.c.Publish(pctx, audio, video); err != nil {
		return err
	}
	go send(ctx, p.c, audio, cfg.AudioPPS, cfg.AudioBytes, 48000)
	go send(ctx, p.c, video, cfg.VideoPPS, cfg.VideoBytes, 90000)
	return nil
}

func send(ctx context.Context, c *signal.Client, t *webrtc.TrackLocalStaticRTP, pps, size int, clock uint32) {
	if pps == 0 {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(pps))
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.IntN(1 << 16)), Timestamp: rand.Uint32()},
		Payload: make([]byte, size)}
	step := clock / uint32(pps)
	for {
		select {
		case <-tick.C:
			pkt.SequenceNumber++
			pkt.Timestamp += step
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
