package bwe

import "math"

// The delay-based rate: additive increase, multiplicative decrease, driven
// by the detector's usage, as libwebrtc's AIMD rate control does. Over-use
// drops it to beta of what the link delivered; normal use raises it, by 8 %
// a second while it is far from where the link last over-used, by about a
// packet per response time near it; under-use holds it while the queue
// drains. It never rises above 1.5 times what the link delivered (plus 10
// kbit/s): a sender that sends less than the estimate learns nothing of
// more, and only a probe (padding, a layer up) shows that more fits.
const (
	beta              = 0.85
	maxIncreasePerSec = 1.08
	minAdditive       = 4_000 // bit/s per second
	ackedHeadroom     = 1.5
	ackedSlack        = 10_000
	capacityAlpha     = 0.05
)

type rateState uint8

const (
	hold rateState = iota
	increase
	decrease
)

// aimd is the delay-based rate.
type aimd struct {
	rate       float64 // bit/s
	state      rateState
	lastChange int64 // ns
	capacity   linkCapacity
}

// update moves the rate on one feedback: usage is the detector's, acked
// what the link delivered (0: not known yet), rtt the round trip (ns).
func (a *aimd) update(u Usage, acked float64, rtt, now int64) {
	switch u {
	case Overusing:
		a.state = decrease
	case Underusing:
		a.state = hold
	case Normal:
		if a.state == hold {
			a.state, a.lastChange = increase, now
		}
	}
	if a.lastChange == 0 {
		a.lastChange = now
	}
	dt := min(float64(now-a.lastChange)/1e9, 1)
	next := a.rate
	switch a.state {
	case increase:
		if acked > 0 && a.capacity.known() && acked > a.capacity.upper() {
			a.capacity = linkCapacity{} // the link carries more than it did: far from its limit again
		}
		if a.capacity.known() {
			next += a.additive(rtt) * dt
		} else {
			next += max(a.rate*(math.Pow(maxIncreasePerSec, dt)-1), 1000*dt)
		}
		a.lastChange = now
	case decrease:
		if acked > 0 {
			d := beta * acked
			if d > a.rate && a.capacity.known() {
				d = beta * a.capacity.estimate
			}
			if d < a.rate {
				next = d
			}
			a.capacity.sample(acked)
		}
		a.state, a.lastChange = hold, now
	}
	if acked > 0 && next > a.rate {
		if limit := ackedHeadroom*acked + ackedSlack; next > limit {
			next = max(a.rate, limit)
		}
	}
	a.rate = next
}

// limited takes a fall of the loss-based bound: the link lost what was
// sent at rate, so the delay-based rate is no higher either (otherwise a
// queue that filled before the trendline had its window, as on a link far
// narrower than the first estimate, leaves it where it started for good),
// and what the link delivered is where its limit is.
func (a *aimd) limited(rate, acked float64, now int64) {
	a.rate = min(a.rate, rate)
	if acked > 0 {
		a.capacity.sample(acked)
	}
	a.state, a.lastChange = hold, now
}

// additive is the increase near the link's limit: about one packet per
// response time, for a stream of 30 frames a second.
func (a *aimd) additive(rtt int64) float64 {
	frame := a.rate / 30
	packets := math.Ceil(frame / (1200 * 8))
	packet := frame / max(packets, 1)
	response := float64(rtt)/1e9 + 0.1
	return max(packet/response, minAdditive)
}

// linkCapacity is an average of what the link delivered when it
// over-used, and how far the samples stray from it: where its limit is.
type linkCapacity struct {
	estimate, variance float64
}

func (c *linkCapacity) known() bool { return c.estimate > 0 }

func (c *linkCapacity) sample(acked float64) {
	if !c.known() {
		c.estimate, c.variance = acked, 0.4
		return
	}
	c.estimate = (1-capacityAlpha)*c.estimate + capacityAlpha*acked
	norm := max(c.estimate/1000, 1) // in kbit/s, as the variance's bounds are
	d := (c.estimate - acked) / 1000
	c.variance = (1-capacityAlpha)*c.variance + capacityAlpha*d*d/norm
	c.variance = min(max(c.variance, 0.4), 2.5)
}

// upper is the most the link is thought to carry, three deviations up.
func (c *linkCapacity) upper() float64 {
	kbps := c.estimate / 1000
	return (kbps + 3*math.Sqrt(c.variance*kbps)) * 1000
}
