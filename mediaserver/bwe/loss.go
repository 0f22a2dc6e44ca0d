package bwe

// The loss-based bound, as GCC's sender side keeps it: each time the
// feedback has reported lossBatch packets, their loss decides. Below
// lowLoss the link is fine and the rate may grow by 8 % a second (from the
// least it was over the last second); above highLoss it falls by half the
// loss, at most once per decreaseInterval and round trip; in between it
// holds.
const (
	lossBatch        = 20
	lowLoss          = 0.02
	highLoss         = 0.10
	severeLoss       = 0.5         // lost in a batch, a link far narrower than what is sent
	decreaseInterval = 300_000_000 // ns
	historySpan      = 1_000_000_000
)

type lossBased struct {
	expected, lost int
	last           float64 // the loss of the last batch
	lastDecrease   int64
	// history is the rate over the last second, for the increase.
	history [32]struct {
		at   int64
		rate float64
	}
	histI int
}

// count adds one feedback's reports; it says whether a batch is complete
// (and last is its loss).
func (l *lossBased) count(received, lost int) bool {
	l.expected += received + lost
	l.lost += lost
	if l.expected < lossBatch {
		return false
	}
	l.last = float64(max(l.lost, 0)) / float64(l.expected)
	l.expected, l.lost = 0, 0
	return true
}

// unlost takes back a loss reported before: the packet came after all.
func (l *lossBased) unlost() { l.lost-- }

// next is the rate after a batch, from the rate now and what the link
// delivered (acked, 0: not known). Like the delay-based rate, it grows no
// further than 1.5 times what was delivered: without that, a sender that
// sends less than the estimate would see it grow by 8 % a second whatever
// the link. A fall on a congested link (the delay says over-use, or half
// of the batch was lost) never leaves it above what the link delivered: a
// rate far above the link's (the first seconds on a narrow link) comes
// down at once, not by halves of the loss every few hundred milliseconds,
// and to beta of it, so that the queue it filled drains. Without those
// signs a fall from above what was delivered is by half the loss, as
// GCC's: the sender sends less than the estimate, and a burst of a few
// packets lost on a link with room brought a loopback subscriber's
// estimate below what its top layer sends. A fall from below what was
// delivered stops at beta of it (a failed probe's padding was lost, not
// the estimate's traffic).
func (l *lossBased) next(rate, acked float64, congested bool, rtt, now int64) float64 {
	switch {
	case l.last <= lowLoss:
		up := l.leastSince(now-historySpan, rate)*maxIncreasePerSec + 1000
		if acked > 0 {
			up = min(up, max(rate, ackedHeadroom*acked+ackedSlack))
		}
		return max(up, rate)
	case l.last > highLoss && now-l.lastDecrease >= decreaseInterval+rtt:
		l.lastDecrease = now
		down := rate * (1 - l.last/2)
		switch {
		case acked <= 0:
		case rate > acked && (congested || l.last >= severeLoss):
			down = min(down, beta*acked)
		case rate > acked:
			// A burst on a link with room: by half the loss alone.
		default:
			// The estimate is below what the link delivered: what was
			// lost was sent above it (a probe's padding), and the link
			// carried the rest.
			down = max(down, min(rate, beta*acked))
		}
		return down
	}
	return rate
}

// remember notes the rate now, for the increase a second later.
func (l *lossBased) remember(rate float64, now int64) {
	l.history[l.histI] = struct {
		at   int64
		rate float64
	}{now, rate}
	l.histI = (l.histI + 1) % len(l.history)
}

// leastSince is the least rate remembered since from, or rate.
func (l *lossBased) leastSince(from int64, rate float64) float64 {
	least := rate
	for _, h := range l.history {
		if h.at >= from && h.at != 0 && h.rate < least {
			least = h.rate
		}
	}
	return least
}
