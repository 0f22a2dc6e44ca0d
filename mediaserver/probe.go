package mediaserver

import (
	"time"

	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// Probes. The estimate of a sender that sends less than the link carries
// says nothing of whether a layer up would fit (mediaserver/bwe lets it
// grow only to 1.5 times what was delivered, until a probe shows more):
// once the link has shown its limit (the estimate fell with loss, within
// trustAfter), a video goes up only by a probe. After probeWait without
// the estimate falling, one track is probed one layer up. After a fall
// that moved a video down, or for a paused video, where the subscriber takes
// padding (padding.go), padding goes first: at what that layer adds, with
// the headroom an upgrade by the estimate needs (upgradeMargin). It is
// judged as mediaserver/bwe's probes are (bwe.Mark), and on what the link
// delivered by the packets' arrival times (padProbe.need); a link that
// carried it gets the layer, which then holds for probeHold without loss
// before it counts as known to fit (a floor). Without padding the layer itself is
// the probe, from the start. A probe fails as soon as the feedback
// reported since it began loses bwe.ProbeLoss more than the link did
// before, or (padding) the estimator sees over-use or the link starves
// it (padProbe.starved), or (a layer sent) the estimate falls below where
// it stood; the track goes back to the layer before, and the wait
// doubles, up to maxProbeWait (no more than maxPadProbeWait while the
// probes pad, as a failed padding probe stills no picture, and
// pausedProbeWait with every video paused); a probe that holds, or whose
// layer the estimate gives first, brings it back to probeWait.
const (
	probeWait       = 2 * time.Second
	maxProbeWait    = 30 * time.Second
	maxPadProbeWait = 2 * time.Second
	// pausedProbeWait is the most a probe waits with every video paused:
	// a failed one stills no picture, and one the link starves ends at
	// bwe.ProbeTime (padProbe.starved), so a narrow link is flooded 0.6 s
	// in every 2.1, less than by 2 s waits between probes that ran to
	// their 1.2 s timeout.
	pausedProbeWait = 1500 * time.Millisecond
	// probeHold is how long a layer a probe gave must go without loss
	// before it counts as known to fit.
	probeHold = 600 * time.Millisecond
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
)

// padProbe is a probe by padding for layer of the track bound by b.
type padProbe struct {
	b     *binding
	layer int
	rate  int
	on    *binding // the binding the padding goes on
	from  bwe.Mark // the feedback and padding when it began
	// need is what the link must have delivered at some moment of the
	// probe (bwe.Stats.Acked, by arrival time) for it to hold: what was
	// sent before it (the lesser of what the link delivered and what the
	// layers cost, as a keyframe may have swelled the first) and the
	// padding, less a tenth for the measure's noise (with a twentieth, a
	// probe on a widened link that delivered 99 % of its need failed, and
	// the layer up waited 2 s more); peak is the most it delivered so far.
	// Packets a link queues arrive late but arrive: counted alone, a
	// deep queue made a link of 300 kbit/s look as if it carried 400 for
	// the 0.3 s of a probe's full rate, and the layer then sent into it
	// stilled the picture.
	need, peak int
	// resume says the probe is for a paused video: it may hold early
	// (bwe.ProbeEarly).
	resume bool
}

// delivered says the link delivered what the probe needs, its peak
// updated with acked, what it delivers now.
func (pp *padProbe) delivered(acked int) bool {
	pp.peak = max(pp.peak, acked)
	return pp.peak >= pp.need
}

// starved says the link, bwe.ProbeTime into the probe, has delivered at
// most a third of what the probe needs at any moment: not even its first
// half's rate. It fails then: a narrow link queues the padding, drops it
// later and reports that later still, and the feedback that fails the
// probe otherwise came at its timeout (1.2 s behind 40 kbit/s), a flood
// twice as long of a link with its videos paused.
func (pp *padProbe) starved(d time.Duration) bool { return d >= bwe.ProbeTime && 3*pp.peak < pp.need }

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
