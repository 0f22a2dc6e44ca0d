package load

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// peer is one simulated person: a signalling session that comes back by
// itself as the browser's does, what it publishes and what it receives.
type peer struct {
	s *signal.Session
	// index is its place in the run: which gateway it goes through first,
	// and the tag on everything it sends.
	index     int
	room      string
	joinStart time.Time
	firstRTP  atomic.Int64 // Unix nanoseconds of the first packet received; 0: none yet
	gotFirst  chan struct{}
	firstOnce sync.Once

	mu     sync.Mutex
	tracks []*trackStats
	// speakers counts the speaker messages the peer heard.
	speakers atomic.Uint64

	fo failover
}

// trackStats follows one received track; only its reader writes.
type trackStats struct {
	gen            int64 // the receiver's losses of its room before the track came
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

// join enters room through the peer's gateway (the index-th in turn) and
// starts counting what arrives and following its losses of the room. in
// and out say whether media should come to it and go from it to someone.
func (r *runner) join(ctx context.Context, room, name string, index int, in, out bool) (*peer, error) {
	sites := r.cfg.sites()
	first := index % len(sites)
	tok, err := r.token(ctx, sites[first], room, name)
	if err != nil {
		return nil, err
	}
	// Its own gateway first; coming back, the others in turn.
	q := url.Values{"room": {room}, "name": {name}}
	urls := make([]string, len(sites))
	for i := range sites {
		s := strings.TrimSuffix(sites[(first+i)%len(sites)], "/")
		urls[i] = "ws" + strings.TrimPrefix(s, "http") + r.cfg.SignalPath + "?" + q.Encode()
	}
	o := signal.SessionOptions{GiveUp: r.cfg.FailoverTimeout, DialOptions: signal.DialOptions{
		Token: tok, HTTPClient: r.http, API: r.api,
	}}
	if len(sites) == 1 {
		// As a page of the site would. One dial option serves every
		// gateway, so with several the client is not a page: no Origin.
		o.Header = http.Header{"Origin": {strings.TrimSuffix(sites[0], "/")}}
	}
	p := &peer{index: index, room: room, joinStart: time.Now(), gotFirst: make(chan struct{})}
	p.fo.init(in, out)
	r.register(p)
	dctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	s, err := signal.Connect(dctx, urls, o)
	if err != nil {
		return nil, err
	}
	p.s = s
	go p.receive(r)
	go p.follow(r)
	return p, nil
}

func (p *peer) receive(r *runner) {
	for {
		select {
		case m := <-p.s.Events():
			if m.Type == signal.TypeSpeaker {
				p.speakers.Add(1)
			}
		case rt := <-p.s.Tracks():
			t := &trackStats{gen: p.fo.gen.Load()}
			t.highest.Store(-1)
			p.mu.Lock()
			p.tracks = append(p.tracks, t)
			p.mu.Unlock()
			go p.read(r, rt.Track, t)
		case <-p.s.Done():
			return
		}
	}
}

// close leaves the room for good.
func (p *peer) close() {
	p.fo.closing.Store(true)
	p.s.Close()
}

// read counts a track's packets, each once, and follows its sequence
// numbers, reading only the fixed header: the payload is synthetic.
func (p *peer) read(r *runner, tr *webrtc.TrackRemote, t *trackStats) {
	buf := make([]byte, 1500)
	var lastSeq uint16
	var ext int64 = -1
	seen := newSeqWindow()
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		seq := binary.BigEndian.Uint16(buf[2:4])
		e := int64(seq)
		if ext >= 0 {
			e = ext + int64(int16(seq-lastSeq)) // across a wrap too
		}
		if !seen.mark(e) {
			continue // a copy of a packet counted already
		}
		switch {
		case ext < 0:
			t.first.Store(e)
			fallthrough
		case e > ext: // a late packet moves nothing
			ext, lastSeq = e, seq
		}
		t.highest.Store(ext)
		t.packets.Add(1)
		t.bytes.Add(uint64(n - 12))
		now := time.Now().UnixNano()
		if t.gen == p.fo.gen.Load() { // not a track of a connection lost since
			p.fo.heardIn(now)
			if from := r.sender(buf[:n]); from != nil {
				from.fo.heardOut(now)
			}
		}
		p.firstOnce.Do(func() {
			p.firstRTP.Store(now)
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

// trackCount is how many tracks the peer has received, on every connection.
func (p *peer) trackCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tracks)
}
