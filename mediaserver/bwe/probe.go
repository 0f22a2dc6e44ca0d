package bwe

import "time"

// Probing. A sender that sends less than the link carries learns nothing
// of more from its own traffic: the estimate grows only to 1.5 times what
// was delivered. A probe sends padding (Pacer) at what the sender wants to
// add, for ProbeTime (half the rate for the first half: a link that
// cannot carry that much loses less of the media when it shows so), then
// waits ProbeSettle for the feedback on the last of it, and is judged on
// the feedback reported since it began (Mark): what a narrow link drops
// last is reported only once something after it gets through.
const (
	ProbeTime   = 600 * time.Millisecond
	ProbeSettle = 300 * time.Millisecond
	// ProbeLoss is how much more of the packets reported since a probe
	// began than the link lost before makes it fail.
	ProbeLoss = 0.05
	// ProbeEarly is when a probe may hold before it ends: its padding has
	// gone at the full rate for a quarter of ProbeTime, and the caller
	// knows by the packets' arrival times that the link delivered it.
	ProbeEarly = ProbeTime/2 + ProbeTime/4
)

// Mark is what the feedback had reported when a probe began.
type Mark struct {
	// Received and Lost are the feedback's counts then (Stats).
	Received, Lost int64
	// Loss is the link's loss then: a probe fails on ProbeLoss more.
	Loss float64
	// Overuses is the estimator's count of over-use then: one more and
	// the link did not carry the padding, lost or not yet.
	Overuses int64
	// Padding is the padding packets sent before the probe (Pacer.Sent).
	Padding int
}

// Since says how many packets the feedback reported after m, and whether
// they were lossy: ProbeLoss more of them lost than the link lost before
// (of at least 10).
func (m Mark) Since(received, lost int64) (reported int64, lossy bool) {
	received, lost = received-m.Received, lost-m.Lost
	reported = received + lost
	return reported, reported >= 10 && float64(lost) >= (m.Loss+ProbeLoss)*float64(reported)
}

// Carried judges a padding probe that began at m, d ago, on the feedback's
// counts now and the padding sent since: 1 the link carried it (ProbeTime
// of it, and ProbeSettle after, the feedback reported at least three
// quarters as many packets as the padding was, losing less than
// ProbeLoss); -1 it did not (lossy, the estimator saw the delay grow into
// over-use meanwhile, or no such report came within twice ProbeTime); 0
// not known yet.
func (m Mark) Carried(received, lost, overuses int64, padding int, d time.Duration) int {
	reported, lossy := m.Since(received, lost)
	switch {
	case lossy, overuses > m.Overuses:
		return -1
	case d < ProbeTime+ProbeSettle:
		return 0
	case 4*reported >= 3*int64(padding-m.Padding):
		return 1
	case d >= 2*ProbeTime:
		return -1
	}
	return 0
}

// CarriedSoFar says the feedback reported since m, d into a probe, shows
// the link carrying its padding so far: ProbeEarly has passed, nothing
// more lost than ProbeLoss, no over-use, and three quarters as many
// packets reported as padding sent. Whether it delivered the probe's rate
// is the caller's to know (bwe.Stats.Acked): only with that may a probe
// hold early.
func (m Mark) CarriedSoFar(received, lost, overuses int64, padding int, d time.Duration) bool {
	reported, lossy := m.Since(received, lost)
	return d >= ProbeEarly && !lossy && overuses <= m.Overuses && 4*reported >= 3*int64(padding-m.Padding)
}

// ProbeRate is the padding rate of a probe at rate, d after it began: half
// for the first half, none once settling.
func ProbeRate(rate int, d time.Duration) int {
	switch {
	case d < ProbeTime/2:
		return rate / 2
	case d >= ProbeTime:
		return 0
	}
	return rate
}
