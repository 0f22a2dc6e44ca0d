package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// warmup is how long media flows before the window opens, so that
// negotiation and the first keyframe requests are not measured.
const warmup = time.Second

type runner struct {
	cfg            Config
	api            *webrtc.API
	http           *http.Client
	issuer         *accesstoken.Issuer
	wsBase, origin string
	rep            Report
	mu             sync.Mutex // guards rep during joins
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
		cfg:    cfg,
		api:    newAPI(cfg.Site),
		http:   &http.Client{Timeout: cfg.JoinTimeout},
		origin: strings.TrimSuffix(cfg.Site, "/"),
	}
	r.wsBase = "ws" + strings.TrimPrefix(r.origin, "http")
	if cfg.Secret != "" {
		s, err := accesstoken.NewSecret([]byte(cfg.Secret))
		if err != nil {
			return nil, err
		}
		r.issuer = accesstoken.NewIssuer(s, nil)
	}
	r.rep = Report{Scenario: cfg.Scenario, Peers: cfg.Peers}
	var err error
	switch cfg.Scenario {
	case Fanout:
		err = r.fanout(ctx)
	case Meeting:
		err = r.meeting(ctx)
	case Churn:
		err = r.churn(ctx)
	}
	return &r.rep, err
}

// joinAll joins n people at once, at most 16 dialling at a time, and
// waits for each one's first packet.
func (r *runner) joinAll(ctx context.Context, prefix string, n int, publish bool) []*peer {
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 16)
		peers = make([]*peer, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			p, err := r.join(ctx, fmt.Sprintf("%s-%d", prefix, i))
			if err == nil && publish {
				if err = p.publish(ctx, &r.cfg, i, n); err != nil {
					p.c.Close()
				}
			}
			<-sem
			if err != nil {
				r.failed(err)
				return
			}
			peers[i] = p
		}()
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
			r.rep.Joins++
		} else {
			r.failed(errors.New("joined but no media arrived within the join timeout"))
		}
	}
	r.rep.setJoinTimes(times)
}

func closeAll(peers []*peer) {
	for _, p := range peers {
		p.c.Close()
	}
}

// publisher joins the one publisher of fanout and churn and starts its
// media; stop ends both.
func (r *runner) publisher(ctx context.Context) (pub *peer, stop func(), err error) {
	if pub, err = r.join(ctx, "publisher"); err != nil {
		return nil, nil, fmt.Errorf("the publisher could not join: %w", err)
	}
	pctx, cancel := context.WithCancel(ctx)
	stop = func() { cancel(); pub.c.Close() }
	if err := pub.publish(pctx, &r.cfg, 0, 1); err != nil {
		stop()
		return nil, nil, fmt.Errorf("the publisher could not publish: %w", err)
	}
	return pub, stop, nil
}

func (r *runner) fanout(ctx context.Context) error {
	pub, stop, err := r.publisher(ctx)
	if err != nil {
		return err
	}
	defer stop()
	subs := r.joinAll(ctx, "subscriber", r.cfg.Peers, false)
	defer closeAll(subs)
	r.awaitMedia(ctx, subs)
	r.measure(ctx, subs, []*peer{pub})
	return nil
}

func (r *runner) meeting(ctx context.Context) error {
	peers := r.joinAll(ctx, "participant", r.cfg.Peers, true)
	defer closeAll(peers)
	if len(peers) < 2 {
		return errors.New("fewer than two participants could join")
	}
	r.awaitMedia(ctx, peers)
	r.measure(ctx, peers, peers)
	return nil
}

// measure lets media flow for the warmup, then counts for the window what
// subs receive and what pubs are asked for.
func (r *runner) measure(ctx context.Context, subs, pubs []*peer) {
	sleep(ctx, warmup)
	start := make([]map[*trackStats]trackMark, len(subs))
	var speakers0 uint64
	for i, p := range subs {
		start[i] = p.marks()
		speakers0 += p.speakers.Load()
	}
	rtcp0 := rtcpSum(pubs)
	cpu0, cpuErr := r.serverCPU()
	t0 := time.Now()
	sleep(ctx, r.cfg.Duration)
	r.rep.Window = time.Since(t0)
	cpu1, _ := r.serverCPU()
	rtcp1 := rtcpSum(pubs)
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
		c := p.c.RTCPCounts()
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
