package mediaserver

import (
	"math"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/bwe"
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
// The estimate of a sender that sends less than the link carries says
// nothing of whether a layer up would fit (mediaserver/bwe lets it grow
// only to 1.5 times what was delivered): once the link has shown its limit
// (the estimate fell with loss, within trustAfter), a video goes up only
// by a probe. After
// probeWait without the estimate falling, one track is probed one layer
// up. On such a link, or for a paused video, where the subscriber takes
// padding (padding.go), padding at what that layer adds goes first, for
// padProbeTime, then padSettle for the last of its feedback; a link that
// carried it gets the layer, which then holds for probeHold without loss
// before it counts as known to fit (a floor). Without padding the layer
// itself is the probe, from the start. A probe fails as soon as the
// feedback reported since it began loses probeLoss more than the link did
// before (or the estimate falls below where it stood, for a layer sent);
// the track goes back to the layer before, and the wait doubles, up to
// maxProbeWait (no more than maxPadProbeWait while the probes pad, as a
// failed padding probe stills no picture); a probe that holds brings it
// back to probeWait.
const (
	allocateInterval = 250 * time.Millisecond
	// upgradeMargin is the part of the estimate an upgrade may use, so a
	// subscriber at the edge of a layer does not flap.
	upgradeMargin   = 0.85
	probeWait       = 2 * time.Second
	maxProbeWait    = 30 * time.Second
	maxPadProbeWait = 4 * time.Second
	padProbeTime    = time.Second
	// padSettle is how long after its padding a probe waits for the
	// feedback on the last of it: what a narrow link dropped last is
	// reported only once something after it gets through.
	padSettle = 300 * time.Millisecond
	// probeHold is how long a layer a probe gave must go without loss
	// before it counts as known to fit.
	probeHold = time.Second
	// trustAfter is how long after the link last showed its limit (a fall
	// with limitLoss or more lost) the estimate alone may move a video up
	// again.
	trustAfter = time.Minute
	limitLoss  = 0.02
	// minPadProbe is the least padding a probe sends.
	minPadProbe = 50_000
	// congestedProbeWait is the least wait for a probe after the estimate
	// fell and moved a video down.
	congestedProbeWait = 8 * time.Second
	// audioCost is counted for an audio track not yet measured.
	audioCost = 50_000
	// A video is paused only when the link loses at least pauseLoss of the
	// packets with every video at its lowest layer: below it, as GCC's own
	// loss controller holds, the loss is the link's everyday share.
	pauseLoss = 0.1
	// A probe ends as soon as the link loses probeLoss more of the packets
	// than before it.
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

// estimate is what the allocation reads of a subscriber's estimator
// (mediaserver/bwe); tests set it by hand.
type estimate interface{ Stats() bwe.Stats }

// allocation is one subscriber's state between rounds; only its
// allocation goroutine touches it.
type allocation struct {
	lastEstimate   int
	lastFall       time.Time
	lastCongestion time.Time // when a fall last moved a video down
	// lastLimit is when a fall with loss last moved a video down: a link
	// that showed its limit. (Without loss it may be a busy machine on the
	// way, whose delay passes.)
	lastLimit time.Time
	overSince time.Time // since when even the lowest layers do not fit
	pausing   bool      // videos may be paused (see allocate)
	probeAt   time.Time // when the last probe started
	probeBase int       // the estimate when the probes now held began
	// probeFrom is what the feedback had reported when the last probe
	// began: a probe is judged on what came after.
	probeFrom struct {
		received, lost int64
		loss           float64 // the link's loss then, up to pauseLoss
	}
	probeFailed time.Time // when probes last failed
	probeWait   time.Duration
	audioOnly   bool
	paused      []string
	connection  connectionLevel
	// probed are the layers probes gave, kept until they fail, the estimate
	// catches up with them, or they hold for probeHold (then floors).
	probed map[*binding]int
	// floors are the layers known to fit (sent before a probe, or given by
	// one that held), kept whatever the estimate says after a failed probe,
	// until the estimate falls again of its own or the link goes on losing
	// pauseLoss for 2 s.
	floors     map[*binding]int
	floorsAt   time.Time // when a floor was last set
	lossySince time.Time // since when the link loses pauseLoss or more
	// padProbe is the probe padding now, if any; pad sends the padding.
	padProbe *padProbe
	pad      padder
	loss     lossWindow
}

// padProbe is a probe by padding for layer of the track bound by b.
type padProbe struct {
	b     *binding
	layer int
	rate  int
	on    *binding // the binding the padding goes on
	sent  int      // padding packets sent before the probe began
	// overuses is the estimator's count of over-use when the probe began:
	// one more and the link did not carry the padding, lost or not yet.
	overuses int64
}

// sinceProbe says how many packets the feedback reported since the probe
// began, and whether they were lossy: probeLoss more of them lost than
// the link lost before (of at least 10).
func (st *allocation) sinceProbe(f *feedbackCount) (reported int64, lossy bool) {
	received, lost := f.counts()
	received, lost = received-st.probeFrom.received, lost-st.probeFrom.lost
	reported = received + lost
	return reported, reported >= 10 && float64(lost) >= (st.probeFrom.loss+probeLoss)*float64(reported)
}

// judgePadding says whether the link carried a probe's padding: 1 it did
// (padProbeTime of it, and padSettle after, the feedback reported at least
// three quarters as many packets as the padding was, losing less than
// probeLoss); -1 it did not (it lost probeLoss of what was reported since
// the probe began, the estimator saw the delay grow into over-use
// meanwhile, or no such report came within twice padProbeTime); 0 not
// known yet.
func (st *allocation) judgePadding(pp *padProbe, f *feedbackCount, overuses int64, d time.Duration) int {
	reported, lossy := st.sinceProbe(f)
	switch {
	case lossy, overuses > pp.overuses:
		return -1
	case d < padProbeTime+padSettle:
		return 0
	case 4*reported >= 3*int64(st.pad.sent-pp.sent):
		return 1
	case d >= 2*padProbeTime:
		return -1
	}
	return 0
}

// allocateLoop runs a peer's allocations until it leaves.
func (p *Peer) allocateLoop() {
	t := time.NewTicker(allocateInterval)
	defer t.Stop()
	st := &allocation{probeWait: probeWait, lastFall: time.Now(), probed: map[*binding]int{}, floors: map[*binding]int{}}
	// padTick runs only while there is padding to send.
	var pad *time.Ticker
	var padTick <-chan time.Time
	defer func() {
		if pad != nil {
			pad.Stop()
		}
	}()
	for {
		select {
		case <-t.C:
		case <-p.reallocate:
		case now := <-padTick:
			st.pad.tick(now)
			continue
		case <-p.ctx.Done():
			return
		}
		p.allocate(st, time.Now())
		switch {
		case st.pad.rate > 0 && pad == nil:
			pad = time.NewTicker(padInterval)
			padTick = pad.C
		case st.pad.rate == 0 && pad != nil:
			pad.Stop()
			pad, padTick = nil, nil
		}
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
	bs := p.estimator.Stats()
	estimate := bs.Target
	loss := st.loss.update(now, &p.feedback)
	fail := func() {
		// Back to the layers before the probes (the floors), and wait
		// longer next time.
		clear(st.probed)
		st.padProbe = nil
		st.probeWait = min(2*st.probeWait, maxProbeWait)
		st.probeFailed = now
	}
	probingNow := len(st.probed) > 0 || st.padProbe != nil
	if _, lossy := st.sinceProbe(&p.feedback); probingNow && lossy {
		// The link loses what the probe added: end it before the estimate
		// says so, as every packet lost meanwhile is a subscriber's.
		fail()
		probingNow = false
	} else if len(st.probed) > 0 && now.Sub(st.probeAt) >= probeHold && st.padProbe == nil {
		// The layers the probe gave held without loss: known to fit.
		for b, l := range st.probed {
			st.floors[b] = l
		}
		st.floorsAt = now
		clear(st.probed)
		st.probeWait = probeWait
		probingNow = false
	}
	switch {
	case loss < pauseLoss || probingNow:
		st.lossySince = time.Time{}
	case st.lossySince.IsZero():
		st.lossySince = now
	case now.Sub(st.lossySince) >= 2*time.Second && now.Sub(st.floorsAt) >= 2*time.Second:
		// The link loses what the floors send, and goes on losing it: they
		// no longer fit, whatever the estimate says (in a hold it does
		// not move at all).
		clear(st.floors)
	}
	if estimate < st.lastEstimate*95/100 {
		st.lastFall = now
		switch {
		case len(st.probed) > 0 && estimate < st.probeBase:
			// The probes failed: the estimate fell below where it stood
			// when they began, the link did not carry them.
			fail()
		case probingNow:
			// A fall that leaves the estimate above where the probes began
			// is the link's noise, or a busy machine's: they go on. (A probe
			// by padding is judged by its feedback alone: the estimate of a
			// link that carried next to nothing is noise.)
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
	// way delays packets without losing them): pauseLoss or more for a
	// second on end, with every video already at its lowest layer for a
	// second (the loss of the moment a link narrows is the higher
	// layers'). Once pausing, the estimate alone decides until it covers
	// every lowest layer again, or a probe resumes a video.
	relaxed := fit(video, budget, math.MaxInt)
	if over := total(video, relaxed) > budget; !over {
		st.overSince, st.pausing = time.Time{}, false
	} else if st.overSince.IsZero() {
		st.overSince = now
	} else if now.Sub(st.overSince) >= time.Second && !st.lossySince.IsZero() && now.Sub(st.lossySince) >= time.Second {
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
	limited := !st.lastLimit.IsZero() && now.Sub(st.lastLimit) < trustAfter
	// congested: the estimate moved a video down within trustAfter. The
	// estimator tells a growing queue by its delay, before the link loses
	// anything, so a fall without loss is a limit too: a probe up pads
	// first there (a layer sent into a link that cannot carry it stills
	// the picture until its keyframe crawls through).
	congested := limited || !st.lastCongestion.IsZero() && now.Sub(st.lastCongestion) < trustAfter
	wait := st.probeWait
	resuming := slices.ContainsFunc(video, func(c *choice) bool { return c.current < 0 && c.want >= 0 })
	if (congested || resuming) && paddable(video) != nil {
		wait = min(wait, maxPadProbeWait) // a probe that pads stills no picture when it fails
	}
	canProbe := len(st.probed) == 0 && st.padProbe == nil && now.Sub(st.lastFall) >= probeWait && now.Sub(lastEvent) >= wait
	var padded *padProbe // the probe whose padding the link carried
	if pp := st.padProbe; pp != nil {
		switch verdict := st.judgePadding(pp, &p.feedback, bs.Overuses, now.Sub(st.probeAt)); {
		case !slices.ContainsFunc(video, func(c *choice) bool { return c.b == pp.b && pp.layer <= c.want }):
			st.padProbe = nil // the track, or the need for its layer, went away
		case verdict < 0:
			fail()
		case verdict > 0:
			padded = pp
		}
	}
	for i, c := range video {
		c.chosen = keep[i]
		if keep[i] > c.current {
			c.chosen = max(upgrade[i], min(c.current, keep[i]))
			if limited && c.b.canPad() {
				// Once the link has shown its limit, the estimate is no
				// measure of more than what was sent. A layer up waits
				// for a probe's padding to show the link carries it.
				c.chosen = c.current
			}
		}
		for _, m := range []map[*binding]int{st.floors, st.probed} {
			if l, ok := m[c.b]; ok && c.chosen < l && l <= c.want {
				c.chosen = l
			}
		}
		if pp := padded; pp != nil && pp.b == c.b {
			// The link carried the padding: the layer itself goes on
			// probing, as media, for probeHold.
			st.padProbe = nil
			st.probeAt = now
			st.probeFrom.received, st.probeFrom.lost = p.feedback.counts()
			if c.chosen < pp.layer {
				c.chosen = pp.layer
				st.probed[c.b] = pp.layer
			}
		}
		if canProbe && !probing && c.chosen < c.want {
			if next := c.above(max(c.chosen, c.current)); next >= 0 && next <= c.want {
				st.probeBase, st.probeAt = estimate, now
				st.probeFrom.received, st.probeFrom.lost = p.feedback.counts()
				st.probeFrom.loss = min(loss, pauseLoss)
				probing = true
				if c.current >= 0 {
					st.floors[c.b], st.floorsAt = c.current, now
				}
				// Where nothing moved a video down, the layer itself
				// probes at once, as padding would only delay it; after a
				// fall, and for a paused video, padding goes first.
				if on := padOn(video, c); on != nil && (congested || c.current < 0) {
					adds := c.cost[next]
					if c.chosen >= 0 {
						adds -= c.cost[c.chosen]
					}
					st.padProbe = &padProbe{b: c.b, layer: next, rate: max(adds, minPadProbe), on: on, sent: st.pad.sent, overuses: bs.Overuses}
				} else {
					c.chosen = next
					st.probed[c.b] = next
				}
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
		if loss >= limitLoss {
			st.lastLimit = now
		}
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
	switch pp := st.padProbe; {
	case pp != nil:
		// Half the rate first: a link that cannot carry that much loses
		// less of the media when it shows so.
		rate := pp.rate
		switch d := now.Sub(st.probeAt); {
		case d < padProbeTime/2:
			rate /= 2
		case d >= padProbeTime:
			rate = 0 // settling
		}
		st.pad.set(rate, pp.on)
	case len(paused) > 0:
		// With its videos paused a subscriber may be sent nothing at all:
		// a trickle keeps its estimate told of the link.
		st.pad.set(keepaliveRate, paddable(video))
	default:
		st.pad.set(0, nil)
	}
}

// padOn is the binding padding for a probe of c goes on: c's own, or
// failing that another video's; nil when the subscriber takes none.
func padOn(video []*choice, c *choice) *binding {
	if c.b.canPad() {
		return c.b
	}
	return paddable(video)
}

// paddable is the first video binding padding can go on, or nil.
func paddable(video []*choice) *binding {
	for _, c := range video {
		if c.b.canPad() {
			return c.b
		}
	}
	return nil
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
