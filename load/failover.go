package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
)

// lastMediaCounts is how recent a person's last media must be, when their
// connection ends, for its time to be taken as the moment they lost the
// room: older, the room was quiet, and the end itself is that moment.
const lastMediaCounts = 2 * time.Second

// failover follows one person's losses of their room (the signalling
// ended without a final word: the node died, or the room moved) and
// comebacks. The receiving goroutines write heard times and fire the
// back signals; follow does the rest.
type failover struct {
	// in and out say whether media should come to the person, and go from
	// them to someone: what "back" waits for.
	in, out bool
	// gen counts the person's losses: a track received before the last
	// one says nothing about being back.
	gen atomic.Int64
	// lastIn and lastOut are the newest packet the person received, and
	// the newest of theirs someone received (Unix ns).
	lastIn, lastOut atomic.Int64
	// awayIn and awayOut are set while the first packet since the loss is
	// awaited; whoever clears one stores the time and signals.
	awayIn, awayOut   atomic.Bool
	backIn, backOut   atomic.Int64
	inBack, outBack   chan struct{} // capacity 1
	closing           atomic.Bool   // the run is over: an end is no loss
	republishOnReturn atomic.Pointer[func(context.Context, *signal.Client) error]

	mu      sync.Mutex
	away    chan struct{} // while away: closed when back or given up
	past    signal.RTCPCounts
	counted *signal.Client // the last connection whose counts are in past
}

func (f *failover) init(in, out bool) {
	f.in, f.out = in, out
	f.inBack, f.outBack = make(chan struct{}, 1), make(chan struct{}, 1)
}

// heardIn is called for every packet the person receives.
func (f *failover) heardIn(now int64) {
	f.lastIn.Store(now)
	if f.awayIn.Load() && f.awayIn.CompareAndSwap(true, false) {
		f.backIn.Store(now)
		f.inBack <- struct{}{}
	}
}

// heardOut is called for every packet of the person's someone receives.
func (f *failover) heardOut(now int64) {
	f.lastOut.Store(now)
	if f.awayOut.Load() && f.awayOut.CompareAndSwap(true, false) {
		f.backOut.Store(now)
		f.outBack <- struct{}{}
	}
}

// setRepublish is what to publish again on a connection the session came
// back on, beyond what the session republishes itself.
func (f *failover) setRepublish(fn func(context.Context, *signal.Client) error) {
	f.republishOnReturn.Store(&fn)
}

// awayNow is closed when the person is back, or nil if they are not away.
func (f *failover) awayNow() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.away
}

// follow watches the person's connection; each time it ends, it measures
// how long until media flows again both ways (or counts them never back).
func (p *peer) follow(r *runner) {
	for first := true; ; first = false {
		rejoined := p.s.Rejoined()
		c := p.s.Client()
		select {
		case <-c.Done():
		case <-p.s.Done():
		}
		if p.fo.closing.Load() || c.Bye() != nil && finalBye(c.Bye()) {
			return // leaving, or a final word: nothing comes back
		}
		ended := time.Now()
		p.fo.gen.Add(1)
		lost := ended
		if last := max(p.fo.lastIn.Load(), p.fo.lastOut.Load()); last > 0 && ended.Sub(time.Unix(0, last)) < lastMediaCounts {
			lost = time.Unix(0, last)
		}
		away := p.leave()
		p.retire(c)
		back, why := p.comeBack(r, rejoined, lost)
		r.failedOver(first, lost, back, why)
		p.fo.mu.Lock()
		p.fo.away = nil
		p.fo.mu.Unlock()
		close(away)
		if back.IsZero() {
			return
		}
	}
}

// finalBye says whether a bye ends the session, as signal.Session takes
// it: all but moved, closing and error.
func finalBye(m *signal.Message) bool {
	switch m.Reason {
	case signal.ByeMoved, signal.ByeClosing, signal.ByeError:
		return false
	}
	return true
}

// retire closes what the session leaves open of a connection it moved on
// from, its peer connections (whose tracks would go on being written to,
// towards a dead node), and keeps its RTCP counts.
func (p *peer) retire(c *signal.Client) {
	p.fo.mu.Lock()
	n := c.RTCPCounts()
	p.fo.past.NACKs += n.NACKs
	p.fo.past.KeyframeRequests += n.KeyframeRequests
	p.fo.counted = c
	p.fo.mu.Unlock()
	c.Close()
}

// rtcpCounts is what the server asked the person for, on every connection.
func (p *peer) rtcpCounts() signal.RTCPCounts {
	p.fo.mu.Lock()
	defer p.fo.mu.Unlock()
	n := p.fo.past
	if c := p.s.Client(); c != p.fo.counted {
		cur := c.RTCPCounts()
		n.NACKs += cur.NACKs
		n.KeyframeRequests += cur.KeyframeRequests
	}
	return n
}

// leave marks the person away, waiting for their first media in and out.
func (p *peer) leave() chan struct{} {
	away := make(chan struct{})
	p.fo.mu.Lock()
	p.fo.away = away
	p.fo.mu.Unlock()
	for _, ch := range []chan struct{}{p.fo.inBack, p.fo.outBack} {
		select {
		case <-ch:
		default:
		}
	}
	p.fo.backIn.Store(0)
	p.fo.backOut.Store(0)
	p.fo.awayIn.Store(p.fo.in)
	p.fo.awayOut.Store(p.fo.out)
	return away
}

// comeBack waits until the session is back and media flows both ways
// again; the moment it did, or zero and why not when it gave up or the
// failover timeout passed.
func (p *peer) comeBack(r *runner, rejoined <-chan struct{}, lost time.Time) (time.Time, string) {
	deadline := time.NewTimer(r.cfg.FailoverTimeout - time.Since(lost))
	defer deadline.Stop()
	wait := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-p.s.Done():
		case <-deadline.C:
		}
		return false
	}
	if !wait(rejoined) {
		if err := p.s.Err(); err != nil {
			return time.Time{}, "not back in the room: " + err.Error()
		}
		return time.Time{}, "not back in the room"
	}
	back := time.Now()
	if fn := p.fo.republishOnReturn.Load(); fn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.JoinTimeout)
		err := (*fn)(ctx, p.s.Client())
		cancel()
		if err != nil {
			r.addError(err)
		}
	}
	if p.fo.in {
		if !wait(p.fo.inBack) {
			return time.Time{}, "back in the room, but no media came to them" + p.connections()
		}
		back = time.Unix(0, p.fo.backIn.Load())
	}
	if p.fo.out {
		if !wait(p.fo.outBack) {
			return time.Time{}, "back in the room, but nobody received their media" + p.connections()
		}
		back = time.Unix(0, max(back.UnixNano(), p.fo.backOut.Load()))
	}
	return back, ""
}

// connections says how the person's peer connections stand, and how many
// times the session connected: why media may not flow.
func (p *peer) connections() string {
	c := p.s.Client()
	return fmt.Sprintf(" (connection %d: publishing %s, receiving %s, %d tracks in all)",
		p.s.Joins(), c.Pub.ConnectionState(), c.Sub.ConnectionState(), p.trackCount())
}

// failedOver counts one loss of a room: back after how long, or never.
func (r *runner) failedOver(first bool, lost, back time.Time, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if first {
		r.rep.FailoverPeers++
	}
	if back.IsZero() {
		r.rep.FailoversLost++
		r.rep.addError(fmt.Errorf("someone who lost their room was not back within the failover timeout: %s", why))
		return
	}
	r.failovers = append(r.failovers, back.Sub(lost))
}

// settle waits until nobody is away: each is back, or given up on.
func (r *runner) settle(ctx context.Context, peers []*peer) {
	for _, p := range peers {
		if away := p.fo.awayNow(); away != nil {
			select {
			case <-away:
			case <-ctx.Done():
				return
			}
		}
	}
}
