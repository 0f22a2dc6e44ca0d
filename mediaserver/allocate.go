package mediaserver

import (
	"math"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// How each subscriber's layers are chosen. Every allocateInterval, and
// whenever the subscriber's tiles change, the layers of the tracks it
// receives are chosen to fit its bandwidth estimate (engine.go): audio
// first, then each video track at the layer its tile needs (a thumbnail
// never the top one), lowered, the largest first and screen shares last,
// until the sum fits. A track that does not fit even at its lowest layer is
// paused; a subscriber with every video paused is told it is on audio only.
// A video goes up a layer by the estimate, or after a fall by a probe
// (probe.go).
const (
	allocateInterval = 250 * time.Millisecond
	// upgradeMargin is the part of the estimate an upgrade may use, so a
	// subscriber at the edge of a layer does not flap.
	upgradeMargin = 0.85
	// audioCost is counted for an audio track not yet measured.
	audioCost = 50_000
	// A video is paused only when the link loses at least pauseLoss of the
	// packets with every video at its lowest layer: below it, as GCC's own
	// loss controller holds, the loss is the link's everyday share.
	pauseLoss = 0.1
)

// allocateLoop runs a peer's allocations until it leaves.
func (p *Peer) allocateLoop() {
	t := time.NewTicker(allocateInterval)
	defer t.Stop()
	st := &allocation{pad: newPadder(), probeWait: probeWait, lastFall: time.Now(), probed: map[*binding]int{}, floors: map[*binding]int{}}
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
			if st.padProbe == nil {
				continue
			}
			// A padding probe is judged at every tick: one the link does
			// not carry ends before it floods it a round longer, and one
			// it carries gives its layer at once.
		case <-p.ctx.Done():
			return
		}
		p.allocate(st, time.Now())
		switch {
		case (st.pad.Rate() > 0 || st.padProbe != nil) && pad == nil:
			pad = time.NewTicker(padInterval)
			padTick = pad.C
		case st.pad.Rate() == 0 && st.padProbe == nil && pad != nil:
			pad.Stop()
			pad, padTick = nil, nil
		}
	}
}

// allocate chooses the layers of every track p receives.
func (p *Peer) allocate(st *allocation, now time.Time) {
	if p.estimator == nil {
		return
	}
	bs := p.estimator.Stats()
	estimate := bs.Target
	loss, lossKnown := st.loss.update(now, &p.feedback)
	fail := func() {
		// Back to the layers before the probes (the floors), and wait
		// longer next time.
		clear(st.probed)
		st.padProbe = nil
		st.probeWait = min(2*st.probeWait, maxProbeWait)
		st.probeFailed = now
	}
	probingNow := len(st.probed) > 0 || st.padProbe != nil
	if _, lossy := st.probeFrom.Since(p.feedback.counts()); probingNow && lossy {
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
		st.held = true
		probingNow = false
	}
	switch {
	case probingNow || lossKnown && loss < pauseLoss:
		st.lossySince = time.Time{}
	case !lossKnown:
		// Too little feedback to judge (a narrow, lossy link reports
		// seldom): it neither starts nor ends a lossy spell, which took
		// such a link 11 s to pause instead of 2.
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
	sent := 0 // what goes to the subscriber now, by the layers' costs
	var video []*choice
	for ft, ssrc := range p.room.subscriptions(p) {
		t := ft.local
		b := t.binding(ssrc)
		if b == nil {
			continue
		}
		if t.kind == webrtc.RTPCodecTypeAudio {
			// Audio first, whatever it costs.
			rate := t.layers[0].bitrate(nowNs)
			budget -= max(rate, audioCost)
			sent += rate
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
		if c.current >= 0 && c.current < len(c.cost) {
			sent += c.cost[c.current]
		}
		video = append(video, c)
	}
	slices.SortFunc(video, keepOrder)
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
			// The estimate covers it: it held as surely as one that
			// lasted probeHold, and the next may follow at once.
			delete(st.probed, c.b)
			st.held, st.probeWait = true, probeWait
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
	// A probe that just held is followed by the next at once: the link
	// carried what it added, and a track still below its tile's layer
	// should not wait a round per layer on a link that widened.
	// Nor does a probe begin on a link losing pauseLoss of what is sent: it
	// cannot carry more, and each probe's padding (or layer) put off the
	// pause the loss called for (Chromium behind 40 kbit/s, losing 80 %,
	// was probed for the next layer up every 2.5 s and paused after 11 s).
	// With every video paused, the estimate is of a link carrying only
	// audio and a trickle of padding: its falls are noise (at its floor it
	// moves 5 % and more), and waiting for it to be still put off the
	// probe that brings a video back by 2 s.
	allPaused := !slices.ContainsFunc(video, func(c *choice) bool { return c.current >= 0 })
	if allPaused && resuming && paddable(video) != nil {
		wait = min(wait, pausedProbeWait)
	}
	// A link that delivers twice the estimate, losing nothing, has
	// widened: the queue a failed probe left emptied at a rate it could
	// not carry before. The next probe need not wait (it waited up to 2 s
	// more after the widening).
	widened := bs.Acked >= 2*estimate && lossKnown && loss < limitLoss
	canProbe := len(st.probed) == 0 && st.padProbe == nil && (now.Sub(st.lastFall) >= probeWait || allPaused || widened) &&
		(now.Sub(lastEvent) >= wait || st.held || widened) && st.lossySince.IsZero()
	var padded *padProbe // the probe whose padding the link carried
	if pp := st.padProbe; pp != nil {
		received, lost := p.feedback.counts()
		delivered := pp.delivered(bs.Acked)
		d := now.Sub(st.probeAt)
		switch verdict := pp.from.Carried(received, lost, bs.Overuses, st.pad.Sent(), d); {
		case !slices.ContainsFunc(video, func(c *choice) bool { return c.b == pp.b && pp.layer <= c.want }):
			st.padProbe = nil // the track, or the need for its layer, went away
		case verdict < 0, verdict > 0 && !delivered, pp.starved(d):
			fail()
		case verdict > 0, pp.resume && delivered && pp.from.CarriedSoFar(received, lost, bs.Overuses, st.pad.Sent(), d):
			// A paused video's probe holds as soon as the link delivered
			// it, by the arrival times, losing nothing: 0.4 s sooner, and
			// a picture wrongly resumed costs nothing a paused one does
			// not. A layer up waits for the probe's end: a tbf's burst
			// made a 300 kbit/s link read 380 for a quarter second, and
			// the layer sent then stilled the picture for 3 s.
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
		if pp := st.padProbe; pp != nil && pp.b == c.b && (pp == padded || c.chosen >= pp.layer) {
			st.padProbe = nil
			st.probeAt = now
			st.probeFrom.Received, st.probeFrom.Lost = p.feedback.counts()
			if c.chosen < pp.layer {
				// The link carried the padding: the layer itself goes on
				// probing, as media, for probeHold.
				c.chosen = pp.layer
				st.probed[c.b] = pp.layer
			} else {
				// The estimate gave the layer first (the padding lifted
				// it): the probe held, and the next follows at once, not
				// 2 s later.
				st.held, st.probeWait = true, probeWait
			}
		}
		if canProbe && !probing && c.chosen < c.want {
			if next := c.above(max(c.chosen, c.current)); next >= 0 && next <= c.want {
				st.probeBase, st.probeAt = estimate, now
				st.probeFrom.Received, st.probeFrom.Lost = p.feedback.counts()
				st.probeFrom.Loss = min(loss, pauseLoss)
				st.probeFrom.Overuses, st.probeFrom.Padding = bs.Overuses, st.pad.Sent()
				probing, st.held = true, false
				// What is sent is known to fit (the link does not lose
				// pauseLoss of it, or no probe would begin).
				if c.current >= 0 {
					st.floors[c.b], st.floorsAt = c.current, now
				}
				// Where nothing moved a video down, the layer itself
				// probes at once, as padding would only delay it; after a
				// fall, and for a paused video, padding goes first.
				if on := padOn(video, c); on != nil && (congested || c.current < 0) {
					adds := c.cost[next]
					if c.chosen >= 0 {
						// Measured costs move (a keyframe of the layer
						// below); a layer up adds at least half its own.
						adds = max(adds-c.cost[c.chosen], adds/2)
					}
					// The link must deliver, at some moment of the probe,
					// what is sent now and the layer up with the headroom
					// an upgrade by the estimate needs (upgradeMargin).
					base := min(bs.Acked, sent)
					target := int(float64(base+adds) / upgradeMargin)
					rate := max(target-base, minPadProbe)
					st.padProbe = &padProbe{b: c.b, layer: next, rate: rate, on: on, from: st.probeFrom, resume: c.current < 0,
						need: (base + rate) * 90 / 100}
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

	p.applyChoices(st, video, loss, now)
}
