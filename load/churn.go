package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// churn keeps one publisher in the room while subscribers join at Rate,
// wait for media, stay for Stay and leave, at most Peers at once, for
// Duration. Everything counts: join times, failures, and what each
// subscriber received while it stayed.
func (r *runner) churn(ctx context.Context) error {
	pub, stop, err := r.publisher(ctx, r.cfg.Room, 0)
	if err != nil {
		return err
	}
	defer stop()
	sleep(ctx, warmup)

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		times    []time.Duration
		expected uint64
		slots    = make(chan struct{}, r.cfg.Peers)
	)
	rtcp0 := rtcpSum([]*peer{pub})
	cpu0, cpuErr := r.serverCPU()
	t0 := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.Rate))
	defer tick.Stop()
	for n := 0; time.Since(t0) < r.cfg.Duration; n++ {
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			r.failed(errors.New("too many subscribers still in the room to start another: raise -peers or lower -rate"))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			p, err := r.join(ctx, r.cfg.Room, fmt.Sprintf("churner-%d", n), 1+n, true, false)
			if err != nil {
				r.failed(err)
				return
			}
			defer p.close()
			select {
			case <-p.gotFirst:
			case <-time.After(r.cfg.JoinTimeout):
			case <-ctx.Done():
			}
			d := p.joinTime()
			if d == 0 {
				r.failed(errors.New("joined but no media arrived within the join timeout"))
				mu.Lock()
				r.rep.Silent++
				mu.Unlock()
				return
			}
			sleep(ctx, r.cfg.Stay)
			mu.Lock()
			defer mu.Unlock()
			times = append(times, d)
			r.rep.Joins++
			for t, m := range p.marks() {
				r.rep.Packets += m.packets
				r.rep.Bytes += m.bytes
				if m.highest >= 0 {
					expected += uint64(m.highest - t.first.Load() + 1)
				}
			}
		}()
	}
	wg.Wait()
	r.rep.Window = time.Since(t0)
	cpu1, _ := r.serverCPU()
	rtcp1 := rtcpSum([]*peer{pub})
	r.rep.setJoinTimes(times)
	r.finish(expected, rtcp1.NACKs-rtcp0.NACKs, rtcp1.KeyframeRequests-rtcp0.KeyframeRequests, cpu0, cpu1, cpuErr)
	return nil
}
