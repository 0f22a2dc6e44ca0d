package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// warmup is how long media flows before the window opens, so that
// negotiation and the first keyframe requests are not measured.
const warmup = time.Second

type runner struct {
	cfg      Config
	api      *webrtc.API
	http     *http.Client
	upgrades *upgradeTimer
	issuer   *accesstoken.Issuer
	// dialling holds a place for each join under way: at most 16 at once.
	dialling chan struct{}
	// byIndex finds a peer by its tag, for what its receivers hear.
	byIndex []atomic.Pointer[peer]

	mu        sync.Mutex // guards rep and failovers while people come and go
	rep       Report
	failovers []time.Duration
}

// Run runs one scenario and reports what happened. An error means the run
// could not be made at all (bad config, no publisher); what went wrong for
// single peers is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &runner{
		cfg:      cfg,
		api:      newAPI(cfg.sites()[0]),
		upgrades: &upgradeTimer{next: http.DefaultTransport.(*http.Transport).Clone()},
		dialling: make(chan struct{}, 16),
		byIndex:  make([]atomic.Pointer[peer], cfg.Rooms*(cfg.Peers+1)+1),
	}
	r.http = &http.Client{Timeout: cfg.JoinTimeout, Transport: r.upgrades}
	if cfg.Secret != "" {
		s, err := accesstoken.NewSecret([]byte(cfg.Secret))
		if err != nil {
			return nil, err
		}
		r.issuer = accesstoken.NewIssuer(s, nil)
	}
	r.rep = Report{Scenario: cfg.Scenario, Peers: cfg.Peers, Rooms: cfg.Rooms, Gateways: len(cfg.sites())}
	var err error
	switch cfg.Scenario {
	case Fanout:
		err = r.fanout(ctx)
	case Meeting:
		err = r.meeting(ctx)
	case Churn:
		err = r.churn(ctx)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.setAdmissions(r.upgrades.figures())
	r.rep.setFailovers(r.failovers)
	return &r.rep, err
}

// inRooms runs join for every room, spaced by RoomEvery, and returns
// everyone who joined.
func (r *runner) inRooms(ctx context.Context, join func(room int) []*peer) []*peer {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []*peer
	)
	for i := range r.cfg.Rooms {
		wg.Go(func() {
			sleep(ctx, time.Duration(i)*r.cfg.RoomEvery)
			ps := join(i)
			mu.Lock()
			all = append(all, ps...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// joinAll joins n people into room at once (counted from index in the
// run), at most 16 dialling at a time in the whole run.
func (r *runner) joinAll(ctx context.Context, room, prefix string, index, n int, publish bool) []*peer {
	var (
		wg    sync.WaitGroup
		peers = make([]*peer, n)
	)
	for i := range n {
		wg.Go(func() {
			r.dialling <- struct{}{}
			// In a meeting everyone sends and receives; in fanout the
			// subscribers only receive.
			media := r.cfg.VideoPPS+r.cfg.AudioPPS > 0
			p, err := r.join(ctx, room, fmt.Sprintf("%s-%d", prefix, i), index+i, media, publish && media)
			if err == nil && publish {
				if err = p.publish(ctx, &r.cfg, i, n); err != nil {
					p.close()
				}
			}
			<-r.dialling
			if err != nil {
				r.failed(err)
				return
			}
			peers[i] = p
		})
	}
	wg.Wait()
	var ok []*peer
	for _, p := range peers {
		if p != nil {
			ok = append(ok, p)
		}
	}
	return ok
}

func (r *runner) failed(err error) {
	r.mu.Lock()
	r.rep.JoinFailures++
	r.rep.addError(err)
	r.mu.Unlock()
}

func (r *runner) addError(err error) {
	r.mu.Lock()
	r.rep.addError(err)
	r.mu.Unlock()
}

// awaitMedia waits for each peer's first packet and records join times;
// a peer with no media by the join timeout is a failed join.
func (r *runner) awaitMedia(ctx context.Context, peers []*peer) {
	var times []time.Duration
	wctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	for _, p := range peers {
		select {
		case <-p.gotFirst:
		case <-wctx.Done():
		}
		if d := p.joinTime(); d > 0 {
			times = append(times, d)
			r.mu.Lock()
			r.rep.Joins++
			r.mu.Unlock()
		} else {
			r.failed(errors.New("joined but no media arrived within the join timeout"))
		}
	}
	r.mu.Lock()
	r.rep.setJoinTimes(times)
	r.mu.Unlock()
}

func closeAll(peers []*peer) {
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(p.close)
	}
	wg.Wait()
}

// publisher joins the one publisher of a fanout or churn room and starts
// its media; stop ends both.
func (r *runner) publisher(ctx context.Context, room string, index int) (pub *peer, stop func(), err error) {
	r.dialling <- struct{}{}
	defer func() { <-r.dialling }()
	media := r.cfg.VideoPPS+r.cfg.AudioPPS > 0
	if pub, err = r.join(ctx, room, "publisher", index, false, media); err != nil {
		return nil, nil, fmt.Errorf("the publisher could not join: %w", err)
	}
	pctx, cancel := context.WithCancel(ctx)
	stop = func() { cancel(); pub.close() }
	if err := pub.publish(pctx, &r.cfg, 0, 1); err != nil {
		stop()
		return nil, nil, fmt.Errorf("the publisher could not publish: %w", err)
	}
	return pub, stop, nil
}

func (r *runner) fanout(ctx context.Context) error {
	var (
		mu    sync.Mutex
		pubs  []*peer
		stops []func()
		errs  []error
	)
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	// Each room: its publisher, then its subscribers.
	per := r.cfg.Peers + 1
	subs := r.inRooms(ctx, func(i int) []*peer {
		pub, stop, err := r.publisher(ctx, r.cfg.roomName(i), i*per)
		mu.Lock()
		if err != nil {
			errs = append(errs, err)
		} else {
			pubs, stops = append(pubs, pub), append(stops, stop)
		}
		mu.Unlock()
		if err != nil {
			return nil
		}
		return r.joinAll(ctx, r.cfg.roomName(i), "subscriber", i*per+1, r.cfg.Peers, false)
	})
	defer closeAll(subs)
	if len(pubs) == 0 {
		return errs[0]
	}
	for _, err := range errs {
		r.failed(err)
	}
	r.awaitMedia(ctx, subs)
	r.measure(ctx, subs, pubs)
	return nil
}

func (r *runner) meeting(ctx context.Context) error {
	peers := r.inRooms(ctx, func(i int) []*peer {
		return r.joinAll(ctx, r.cfg.roomName(i), "participant", i*r.cfg.Peers, r.cfg.Peers, true)
	})
	defer closeAll(peers)
	if len(peers) < 2 {
		return errors.New("fewer than two participants could join")
	}
	r.awaitMedia(ctx, peers)
	r.measure(ctx, peers, peers)
	return nil
}

// measure lets media flow for the warmup, then counts for the window what
// subs receive and what pubs are asked for. People who lose their room
// meanwhile come back; the run waits for them after the window.
func (r *runner) measure(ctx context.Context, subs, pubs []*peer) {
	sleep(ctx, warmup)
	everyone := append(slices.Clip(subs), pubs...)
	if len(pubs) > 0 && len(subs) > 0 && pubs[0] == subs[0] {
		everyone = subs // a meeting: the same people
	}
	placed := roomsByMediaAddress(everyone)
	start := make([]map[*trackStats]trackMark, len(subs))
	var speakers0 uint64
	for i, p := range subs {
		start[i] = p.marks()
		speakers0 += p.speakers.Load()
	}
	rtcp0 := rtcpSum(pubs)
	cpu0, cpuErr := r.serverCPU()
	if r.cfg.OnMeasure != nil {
		r.cfg.OnMeasure()
	}
	t0 := time.Now()
	sleep(ctx, r.cfg.Duration)
	window := time.Since(t0)
	cpu1, _ := r.serverCPU()
	rtcp1 := rtcpSum(pubs)
	r.mu.Lock()
	r.rep.Window = window
	r.rep.RoomsByMediaAddress = placed
	var expected uint64
	for _, p := range subs {
		r.rep.SpeakerMessages += p.speakers.Load()
	}
	r.rep.SpeakerMessages -= speakers0
	for i, p := range subs {
		var got uint64
		for t, now := range p.marks() {
			was, ok := start[i][t]
			if !ok { // a track that started in the window
				was = trackMark{highest: now.highest - int64(now.packets)}
			}
			got += now.packets - was.packets
			r.rep.Bytes += now.bytes - was.bytes
			if d := now.highest - was.highest; d > 0 {
				expected += uint64(d)
			}
		}
		r.rep.Packets += got
		if got == 0 {
			r.rep.Silent++
		}
	}
	r.finish(expected, rtcp1.NACKs-rtcp0.NACKs, rtcp1.KeyframeRequests-rtcp0.KeyframeRequests, cpu0, cpu1, cpuErr)
	r.mu.Unlock()
	r.settle(ctx, everyone)
	r.mu.Lock()
	moved := r.rep.FailoverPeers > 0
	r.mu.Unlock()
	if moved {
		after := roomsByMediaAddress(everyone)
		r.mu.Lock()
		r.rep.RoomsByMediaAddressAfter = after
		r.mu.Unlock()
	}
}

func (r *runner) finish(expected, nacks, keyframes uint64, cpu0, cpu1 time.Duration, cpuErr error) {
	rep := &r.rep
	secs := rep.Window.Seconds()
	rep.PacketsPerSecond = float64(rep.Packets) / secs
	rep.MbitPerSecond = float64(rep.Bytes) * 8 / secs / 1e6
	if expected > rep.Packets {
		rep.Lost = expected - rep.Packets
	}
	if expected > 0 {
		rep.LossPercent = 100 * float64(rep.Lost) / float64(expected)
	}
	rep.NACKs, rep.KeyframeRequests = nacks, keyframes
	if r.cfg.ServerPID != 0 {
		if cpuErr != nil {
			rep.addError(fmt.Errorf("server CPU: %w", cpuErr))
		} else {
			rep.ServerCPU = cpu1 - cpu0
			if rep.Packets > 0 {
				rep.ServerCPUPerPacket = rep.ServerCPU / time.Duration(rep.Packets)
			}
		}
	}
}

func (r *runner) serverCPU() (time.Duration, error) {
	if r.cfg.ServerPID == 0 {
		return 0, nil
	}
	return ProcessCPU(r.cfg.ServerPID)
}

func rtcpSum(pubs []*peer) signal.RTCPCounts {
	var s signal.RTCPCounts
	for _, p := range pubs {
		c := p.rtcpCounts()
		s.NACKs += c.NACKs
		s.KeyframeRequests += c.KeyframeRequests
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}
