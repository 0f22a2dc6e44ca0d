package mediaserver

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// feedbackCount counts the packets a subscriber's transport-wide feedback
// reported received and lost. A probe by padding is judged on what was
// reported after it began: the estimator's loss is an average that stands
// still while no feedback comes, and feedback for the padding a narrow link
// drops last comes only once something after it gets through.
type feedbackCount struct{ received, lost atomic.Int64 }

// add counts one feedback packet's statuses.
func (f *feedbackCount) add(fb *rtcp.TransportLayerCC) {
	left := int(fb.PacketStatusCount)
	var received, lost int
	count := func(status uint16, n int) {
		n = min(n, left)
		left -= n
		if status == rtcp.TypeTCCPacketNotReceived {
			lost += n
		} else {
			received += n
		}
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			count(c.PacketStatusSymbol, int(c.RunLength))
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				count(s, 1)
			}
		}
	}
	f.received.Add(int64(received))
	f.lost.Add(int64(lost))
}

// counts is what was reported so far.
func (f *feedbackCount) counts() (received, lost int64) { return f.received.Load(), f.lost.Load() }

// lossWindow is the part of the packets the feedback of the last half
// second reported lost. (pion's estimator keeps an average too, but it is
// only read out when its delay-based part moves, which it does not while
// it holds: after congestion that is seconds of a stale figure.)
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

// update takes the counts of now and says the loss over the window.
func (w *lossWindow) update(now time.Time, f *feedbackCount) float64 {
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
		return 0
	}
	return float64(l) / float64(r+l)
}
