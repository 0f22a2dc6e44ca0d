package mediaserver

import (
	"time"

	"golang.org/x/time/rate"
)

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

// roundTrip is the subscriber's round trip as its estimator measures it
// (sending to feedback, ns): a packet is not resent twice within it.
func (p *Peer) roundTrip() int64 {
	if p.estimator == nil {
		return 0
	}
	return p.estimator.Stats().RTT
}
