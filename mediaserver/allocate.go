package mediaserver

import (
	"math"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"golang.org/x/time/rate"
)

// How each subscriber's layers are chosen. Every allocateInterval, and
// whenever the subscriber's tiles change, the layers of the tracks it
// receives are chosen to fit its bandwidth estimate (engine.go): audio
// first, then each video track at the layer its tile needs (a thumbnail
// never the top one), lowered, the largest first and screen shares last,
// until the sum fits. A track that does not fit even at its lowest layer is
// paused; a subscriber with every video paused is told it is on audio only.
//
// The estimate of an application-limited sender grows only so far above
// what it sends, so a subscriber moved down would never be moved up again:
// after probeWait without the estimate falling, one track is moved up one
// layer beyond the estimate, and the real media is the probe: the track
// keeps that layer unless the estimate falls below where it stood when the
// probe began. Then the wait doubles, up to maxProbeWait; a probe that
// holds brings it back to probeWait.
const (
	allocateInterval = 250 * time.Millisecond
	// upgradeMargin is the part of the estimate an upgrade may use, so a
	// subscriber at the edge of a layer does not flap.
	upgradeMargin = 0.85
	probeWait     = 2 * time.Second
	maxProbeWait  = 30 * time.Second
	// congestedProbeWait is the least wait for a probe after the estimate
	// fell and moved a video down.
	congestedProbeWait = 8 * time.Second
	// audioCost is counted for an audio track not yet measured.
	audioCost = 50_000
	// A video is paused only when the link loses at least pauseLoss of the
	// packets with every video at its lowest layer: below it, as GCC's own
	// loss controller holds, the loss is the link's everyday share.
	pauseLoss = 0.1
	// A probe ends as soon as the link loses probeLoss of the packets.
	probeLoss = 0.05
)

// nominalBitrate is counted for a layer not measured yet: the caps the
// browser client gives its layers (docs/signalling.md).
func nominalBitrate(layer, layers int) int {
	return []int{150_000, 500_000, 1_500_000}[max(0, min(2, 2-(layers-1-layer)))]
}

// view is how large a subscriber shows a video stream, in device pixels;
// shown false: not shown at all.
type view struct {
	width, height int
	shown         bool
}

// allocation is one subscriber's state between rounds; only its
// allocation goroutine touches it.
type allocation struct {
	lastEstimate   int
	lastFall       time.Time
	lastCongestion time.Time // when a fall last moved a video down
	overSince      time.Time // since when even the lowest layers do not fit
	pausing        bool      // videos may be paused (see allocate)
	probeAt        time.Time // when the last probe started
	probeBase      int       // the estimate when the probes now held began
	probeFailed    time.Time // when probes last failed
	probeWait      time.Duration
	audioOnly      bool
	paused         []string
	connection     connectionLevel
	// probed are the layers probes gave, kept until the estimate catches
	// up with them or they fail.
	probed map[*binding]int
	// floors are the layers sent before a probe: known to fit, kept
	// whatever the estimate says after a failed probe, until the estimate
	// falls again of its own.
	floors map[*binding]int
}

// allocateLoop runs a peer's allocations until it leaves.
func (p *Peer) allocateLoop() {
	t := time.NewTicker(allocateInterval)
	defer t.Stop()
	st := &allocation{probeWait: probeWait, lastFall: time.Now(), probed: map[*binding]int{}, floors: map[*binding]int{}}
	for {
		select {
		case <-t.C:
		case <-p.reallocate:
		case <-p.ctx.Done():
			return
		}
		p.allocate(st, time.Now())
	}
}

// choice is one video track in a round.
type choice struct {
	t       *fanoutTrack
	b       *binding
	screen  bool
	cost    []int // per layer; 0: the layer is not sent now
	want    int   // the layer the tile needs; -1 none
	chosen  int
	current int
}

// allocate chooses the layers of every track p receives.
func (p *Peer) allocate(st *allocation, now time.Time) {
	if p.estimator == nil {
		return
	}
	estimate := p.estimator.GetTargetBitrate()
	loss := averageLoss(p.estimator) // GetStats builds a map: once a round
	fail := func() {
		// Back to the layers before the probes (the floors), and wait
		// longer next time.
		clear(st.probed)
		st.probeWait = min(2*st.probeWait, maxProbeWait)
		st.probeFailed = now
	}
	if len(st.probed) > 0 && now.Sub(st.probeAt) > allocateInterval && loss >= probeLoss {
		// The link loses what the probe added: end it before the estimate
		// says so, as every packet lost meanwhile is a subscriber's.
		fail()
	}
	if estimate < st.lastEstimate*95/100 {
		st.lastFall = now
		switch {
		case len(st.probed) > 0 && estimate < st.probeBase:
			// The probes failed: the estimate fell below where it stood
			// when they began, the link did not carry them.
			fail()
		case len(st.probed) > 0:
			// A fall that leaves the estimate above where the probes began
			// is the link's noise, or a busy machine's: they go on.
		case now.Sub(st.probeFailed) > 2*probeWait:
			// Not a probe's doing: the link itself changed.
			clear(st.floors)
		}
	}
	st.lastEstimate = estimate
	p.budgetResends(estimate)
	nowNs := now.UnixNano()
	views := p.viewsNow()

	budget := estimate
	var video []*choice
	for ft, ssrc := range p.room.subscriptions(p) {
		t := ft.local
		b := t.binding(ssrc)
		if b == nil {
			continue
		}
		if t.kind == webrtc.RTPCodecTypeAudio {
			// Audio first, whatever it costs.
			budget -= max(t.layers[0].bitrate(nowNs), audioCost)
			continue
		}
		c := &choice{t: t, b: b, screen: signal.IsScreen(t.streamID), current: int(b.want.Load())}
		for i, l := range t.layers {
			cost := 0 // not sent now
			if l.active(nowNs) {
				if cost = l.bitrate(nowNs); cost == 0 {
					cost = nominalBitrate(i, len(t.layers))
				}
			}
			c.cost = append(c.cost, cost)
		}
		v, said := views[t.streamID]
		c.want = c.available(t.layerFor(v, said))
		video = append(video, c)
	}
	// Largest tiles, then screens, keep their layers longest.
	slices.SortFunc(video, func(a, b *choice) int {
		if a.screen != b.screen {
			if a.screen {
				return 1
			}
			return -1
		}
		return a.want - b.want
	})
	// Pausing a video takes loss too, not only delay (a busy machine on the
	// way delays packets without losing them), and loss that goes on for a
	// second with every video already at its lowest layer: the loss of the
	// moment a link narrows is the higher layers'. Once pausing, the
	// estimate alone decides until it covers every lowest layer again, or
	// a probe resumes a video.
	relaxed := fit(video, budget, math.MaxInt)
	if over := total(video, relaxed) > budget; !over {
		st.overSince, st.pausing = time.Time{}, false
	} else if st.overSince.IsZero() {
		st.overSince = now
	} else if now.Sub(st.overSince) >= time.Second && loss >= pauseLoss {
		st.pausing = true
	}
	keep, pauseBudget := relaxed, math.MaxInt
	if st.pausing {
		keep, pauseBudget = fit(video, budget, budget), budget
	}
	upgrade := fit(video, int(float64(budget)*upgradeMargin), pauseBudget)
	// Probes the estimate caught up with are over.
	for i, c := range video {
		if l, ok := st.probed[c.b]; ok && keep[i] >= l {
			delete(st.probed, c.b)
		}
	}
	for _, m := range []map[*binding]int{st.probed, st.floors} {
		for b := range m {
			if !slices.ContainsFunc(video, func(c *choice) bool { return c.b == b }) {
				delete(m, b) // no longer received
			}
		}
	}
	probing, lowered, moving := false, false, false
	// A probe waits for the estimate to be still a while, and for the wait
	// since the last probe, the last failure or the last congestion.
	lastEvent := st.probeAt
	for _, t := range []time.Time{st.probeFailed, st.lastCongestion} {
		if t.After(lastEvent) {
			lastEvent = t
		}
	}
	canProbe := len(st.probed) == 0 && now.Sub(st.lastFall) >= probeWait && now.Sub(lastEvent) >= st.probeWait
	for i, c := range video {
		c.chosen = keep[i]
		if keep[i] > c.current {
			c.chosen = max(upgrade[i], min(c.current, keep[i]))
		}
		for _, m := range []map[*binding]int{st.floors, st.probed} {
			if l, ok := m[c.b]; ok && c.chosen < l && l <= c.want {
				c.chosen = l
			}
		}
		if canProbe && !probing && c.chosen < c.want {
			if next := c.above(max(c.chosen, c.current)); next >= 0 && next <= c.want {
				st.probeBase, st.probeAt = estimate, now
				if c.current >= 0 {
					st.floors[c.b] = c.current
				}
				c.chosen, probing = next, true
				st.probed[c.b] = next
			}
		}
		lowered = lowered || c.chosen < c.current && c.chosen < c.want
		moving = moving || int(c.b.cur.Load()) > c.current
	}
	if lowered || moving {
		// Loss is judged from a second after the last move down took
		// effect (at a keyframe), when the link has drained what the
		// higher layer left in it.
		st.overSince = now
	}
	if lowered && st.lastFall.Equal(now) {
		// The link just showed its limit: it will hardly carry more soon.
		st.lastCongestion = now
		st.probeWait = max(st.probeWait, congestedProbeWait)
	}
	if !probing && len(st.probed) == 0 && !st.probeAt.IsZero() && now.Sub(st.probeAt) >= 2*probeWait &&
		st.probeFailed.Before(st.probeAt) && st.lastCongestion.Before(st.probeAt) {
		st.probeWait = probeWait // the last probe held: probe promptly again
	}

	var paused []string
	audioOnly, lowered := false, false
	for _, c := range video {
		if c.chosen < sentUpTo(c) {
			lowered = true
		}
		if c.chosen != c.current {
			c.b.want.Store(int32(c.chosen))
			if c.chosen >= 0 {
				c.t.ask(c.chosen)
			}
		}
		if c.chosen < 0 && c.want >= 0 {
			paused = append(paused, c.t.streamID)
		}
	}
	if len(paused) > 0 && len(paused) == countWanted(video) {
		audioOnly = true
	}
	slices.Sort(paused)
	if audioOnly != st.audioOnly || !slices.Equal(paused, st.paused) {
		st.audioOnly, st.paused = audioOnly, paused
		p.send(signal.Message{Type: signal.TypeQuality, AudioOnly: &audioOnly, Paused: paused})
	}
	if level, changed := st.connection.update(judgeConnection(loss, len(paused) > 0, lowered), now); changed {
		p.setConnection(level)
	}
}

// sentUpTo is the highest layer of c, up to the one its tile needs, that
// its publisher sends now: what the subscriber would get on a wide link.
func sentUpTo(c *choice) int {
	for l := min(c.want, len(c.cost)-1); l >= 0; l-- {
		if c.cost[l] > 0 {
			return l
		}
	}
	return -1
}

// averageLoss is the part of the packets lost lately, as the estimator
// saw it in the feedback.
func averageLoss(e interface{ GetStats() map[string]any }) float64 {
	v, _ := e.GetStats()["averageLoss"].(float64)
	return v
}

// total is what the chosen layers cost.
func total(video []*choice, chosen []int) (sum int) {
	for i, c := range video {
		if chosen[i] >= 0 {
			sum += c.cost[chosen[i]]
		}
	}
	return sum
}

func countWanted(video []*choice) (n int) {
	for _, c := range video {
		if c.want >= 0 {
			n++
		}
	}
	return n
}

// fit lowers the wanted layers until their sum fits budget: each step
// lowers the track at the highest layer, the last in the order on ties. A
// track at its lowest layer is paused only while the sum exceeds
// pauseBudget too.
func fit(video []*choice, budget, pauseBudget int) []int {
	chosen := make([]int, len(video))
	total := 0
	for i, c := range video {
		chosen[i] = c.want
		if c.want >= 0 {
			total += c.cost[c.want]
		}
	}
	// first says whether track i is lowered before track w: cameras before
	// screens, then the higher layer, then the later in the order.
	first := func(i, w int) bool {
		if video[i].screen != video[w].screen {
			return !video[i].screen
		}
		return chosen[i] >= chosen[w]
	}
	pick := func(pausing bool) int {
		worst := -1
		for i, c := range video {
			if chosen[i] >= 0 && (pausing || c.below(chosen[i]) >= 0) && (worst < 0 || first(i, worst)) {
				worst = i
			}
		}
		return worst
	}
	for total > budget {
		worst := pick(false)
		if worst < 0 {
			if total <= pauseBudget {
				break
			}
			if worst = pick(true); worst < 0 {
				break
			}
		}
		c := video[worst]
		total -= c.cost[chosen[worst]]
		chosen[worst] = c.below(chosen[worst])
		if chosen[worst] >= 0 {
			total += c.cost[chosen[worst]]
		}
	}
	return chosen
}

// available is the layer nearest to l, at or below it, that is being sent;
// failing that the nearest above; -1 when none is or l is.
func (c *choice) available(l int) int {
	if l < 0 {
		return -1
	}
	for i := min(l, len(c.cost)-1); i >= 0; i-- {
		if c.cost[i] > 0 {
			return i
		}
	}
	return c.above(l)
}

// below is the next layer under l that is being sent, or -1.
func (c *choice) below(l int) int {
	for i := l - 1; i >= 0; i-- {
		if c.cost[i] > 0 {
			return i
		}
	}
	return -1
}

// above is the next layer over l that is being sent, or -1.
func (c *choice) above(l int) int {
	for i := l + 1; i < len(c.cost); i++ {
		if c.cost[i] > 0 {
			return i
		}
	}
	return -1
}

// layerFor is the layer a tile of this size needs: the smallest whose
// picture is nearly as wide and as tall as the tile (the page crops
// cameras to fill their tiles); none for a stream not shown. A subscriber that said nothing of the stream (the Go client) gets
// the top layer.
func (t *fanoutTrack) layerFor(v view, said bool) int {
	n := len(t.layers)
	if !said {
		return n - 1
	}
	if !v.shown {
		return -1
	}
	topWidth := int(t.layers[n-1].width.Load())
	if topWidth == 0 {
		topWidth = 1280
	}
	for i, l := range t.layers {
		w := int(l.width.Load())
		if w == 0 {
			w = topWidth >> (n - 1 - i)
		}
		h := w * 9 / 16 // the picture's height is not known; a camera's is near this
		if w*10 >= v.width*8 && h*10 >= v.height*8 {
			return i
		}
	}
	return n - 1
}

// Retransmissions may take resendShare of a subscriber's estimate: on a link
// that loses much, answering every NACK sends more into what already
// overflows, and the loss feeds itself.
const resendShare = 0.2

// mayResend takes the budget for one retransmitted packet.
func (p *Peer) mayResend(bytes int) bool { return p.resends.AllowN(time.Now(), bytes) }

// budgetResends sets the retransmission budget from the estimate.
func (p *Peer) budgetResends(estimate int) {
	perSecond := float64(estimate) / 8 * resendShare
	p.resends.SetLimit(rate.Limit(perSecond))
	p.resends.SetBurst(max(int(perSecond/4), 3000))
}

// setViews keeps the sizes the peer shows its streams at, and chooses
// layers for them at once.
func (p *Peer) setViews(views []signal.View) {
	m := make(map[string]view, len(views))
	for _, v := range views {
		m[v.Stream] = view{width: v.Width, height: v.Height, shown: v.Width > 0 && v.Height > 0}
	}
	p.viewsMu.Lock()
	p.views = m
	p.viewsMu.Unlock()
	select {
	case p.reallocate <- struct{}{}:
	default:
	}
}

func (p *Peer) viewsNow() map[string]view {
	p.viewsMu.Lock()
	defer p.viewsMu.Unlock()
	return p.views
}
