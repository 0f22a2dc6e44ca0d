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
// second reported lost; when that half second reported too few to judge (a
// paused subscriber gets a trickle of padding, a narrow link reports
// seldom), it looks further back, up to lossWindowMaxSpan.
type lossWindow struct {
	// samples hold a round's counts each, newest at next-1: rounds are
	// 50 ms apart at the least (while a probe pads), so they cover
	// lossWindowMaxSpan.
	samples [48]lossSample
	next    int
}

type lossSample struct {
	at             time.Time
	received, lost int64
}

// lossWindowSpan is how far back the window looks, lossWindowMaxSpan how
// far when that saw fewer than minReported packets, the least count of
// packets it judges on.
const (
	lossWindowSpan    = 500 * time.Millisecond
	lossWindowMaxSpan = 2 * time.Second
	minReported       = 5
)

// update takes the counts of now and says the loss over the window, and
// whether enough was reported to judge it (minReported within
// lossWindowMaxSpan; else the loss is 0): a round with next to no feedback
// says nothing of the link's loss either way.
func (w *lossWindow) update(now time.Time, f *feedbackCount) (loss float64, known bool) {
	received, lost := f.counts()
	n := len(w.samples)
	from := lossSample{at: now, received: received, lost: lost}
	// Back from the newest sample: every one within the span, then older
	// ones while too few were reported.
	for i := 1; i <= n; i++ {
		s := w.samples[(w.next-i+n)%n]
		if s.at.IsZero() || now.Sub(s.at) > lossWindowMaxSpan {
			break
		}
		if now.Sub(s.at) > lossWindowSpan && received-from.received+lost-from.lost >= minReported {
			break
		}
		from = s
	}
	w.samples[w.next] = lossSample{now, received, lost}
	w.next = (w.next + 1) % n
	r, l := received-from.received, lost-from.lost
	if r+l < minReported {
		return 0, false
	}
	return float64(l) / float64(r+l), true
}
