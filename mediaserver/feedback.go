package mediaserver

import (
	"sync/atomic"
	"time"
)

// feedbackCount is what a subscriber's transport-wide feedback reported
// received and lost, ever (the estimator's counts, transportcc.go). A
// probe by padding is judged on what was reported after it began: feedback
// for the padding a narrow link drops last comes only once something
// after it gets through.
type feedbackCount struct{ received, lost atomic.Int64 }

// counts is what was reported so far.
func (f *feedbackCount) counts() (received, lost int64) { return f.received.Load(), f.lost.Load() }

// lossWindow is the part of the packets the feedback of the last half
// second reported lost.
type lossWindow struct {
	samples [16]lossSample
	next    int
}

type lossSample struct {
	at             time.Time
	received, lost int64
}

// lossWindowSpan is how far back the window looks; minReported is the
// least count of packets it judges on (0 loss below it).
const (
	lossWindowSpan = 500 * time.Millisecond
	minReported    = 5
)

// update takes the counts of now and says the loss over the window, and
// whether enough was reported to judge it (minReported; else the loss is
// 0). A narrow link reports seldom: a round with next to no feedback says
// nothing of its loss either way.
func (w *lossWindow) update(now time.Time, f *feedbackCount) (loss float64, known bool) {
	received, lost := f.counts()
	w.samples[w.next] = lossSample{now, received, lost}
	w.next = (w.next + 1) % len(w.samples)
	// From the oldest sample within the span; none: nothing is known.
	from := lossSample{at: now, received: received, lost: lost}
	for _, s := range w.samples {
		if !s.at.IsZero() && now.Sub(s.at) <= lossWindowSpan && s.at.Before(from.at) {
			from = s
		}
	}
	r, l := received-from.received, lost-from.lost
	if r+l < minReported {
		return 0, false
	}
	return float64(l) / float64(r+l), true
}
