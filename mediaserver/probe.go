package mediaserver

import "time"

// Probes. The estimate of a sender that sends less than the link carries
// says nothing of whether a layer up would fit (mediaserver/bwe lets it
// grow only to 1.5 times what was delivered, until a probe shows more):
// once the link has shown its limit (the estimate fell with loss, within
// trustAfter), a video goes up only by a probe. After probeWait without
// the estimate falling, one track is probed one layer up. After a fall
// that moved a video down, or for a paused video, where the subscriber takes
// padding (padding.go), padding at what that layer adds goes first, for
// padProbeTime, then padSettle for the last of its feedback; a link that
// carried it gets the layer, which then holds for probeHold without loss
// before it counts as known to fit (a floor). Without padding the layer
// itself is the probe, from the start. A probe fails as soon as the
// feedback reported since it began loses probeLoss more than the link did
// before, or (padding) the estimator sees over-use, or (a layer sent) the
// estimate falls below where it stood;
// the track goes back to the layer before, and the wait doubles, up to
// maxProbeWait (no more than maxPadProbeWait while the probes pad, as a
// failed padding probe stills no picture); a probe that holds brings it
// back to probeWait.
const (
	probeWait       = 2 * time.Second
	maxProbeWait    = 30 * time.Second
	maxPadProbeWait = 2 * time.Second
	padProbeTime    = 600 * time.Millisecond
	// padSettle is how long after its padding a probe waits for the
	// feedback on the last of it: what a narrow link dropped last is
	// reported only once something after it gets through.
	padSettle = 300 * time.Millisecond
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
	// A probe ends as soon as the link loses probeLoss more of the packets
	// than before it.
	probeLoss = 0.05
)

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
