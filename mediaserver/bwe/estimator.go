package bwe

import "sync"

// Config bounds an estimator, in bits per second.
type Config struct {
	Initial, Min, Max int
}

// maxStatuses bounds the packets read from one feedback packet: more than
// a feedback interval of any link this server feeds, and a fixed buffer.
const maxStatuses = 1024

// Estimator is one subscriber's estimate. Sent is called for every packet
// sent to it, Feedback for every transport-wide feedback it sends; both
// are safe from several goroutines. Nothing is allocated after New.
type Estimator struct {
	mu       sync.Mutex
	cfg      Config
	sent     sentRing
	next     uint16 // the transport-wide number Next gives next
	statuses []status
	delay    delayDetector
	rate     aimd
	loss     lossBased
	acked    ackedRate
	target   float64
	rtt      int64 // ns, smoothed
	lastFall int64 // ns, when the estimate last fell
	stats    Stats
}

// probeMargin is how far above the estimate what the link delivered must
// be to lift it there.
const probeMargin = 1.1

// liftAfterFall is how long after a fall the estimate is not lifted to
// what was delivered: the queue that made it fall drains meanwhile, at the
// link's full rate.
const liftAfterFall = 1_000_000_000

// Stats are an estimator's figures after the last feedback.
type Stats struct {
	// Target is the estimate: what the link is thought to carry, bit/s.
	Target int
	// DelayBased and LossBased are its two bounds.
	DelayBased, LossBased int
	// Acked is what the link delivered over the last quarter second, bit/s.
	Acked int
	// Usage is the delay gradient's verdict.
	Usage Usage
	// Loss is the part lost of the last batch of reported packets.
	Loss float64
	// Received and Lost count every packet the feedback reported, ever.
	Received, Lost int64
	// RTT is the round trip from a packet's sending to the feedback on
	// it, ns.
	RTT int64
	// Feedbacks counts the feedback packets read; Overuses those after
	// which the delay gradient said over-use (a probe that brings one
	// failed).
	Feedbacks, Overuses int64
}

// New makes an estimator at cfg.Initial.
func New(cfg Config) *Estimator {
	e := &Estimator{cfg: cfg, statuses: make([]status, 0, maxStatuses), delay: newDelayDetector()}
	e.target = float64(cfg.Initial)
	e.rate.rate = e.target
	e.rtt = 100_000_000
	e.stats = Stats{Target: cfg.Initial, DelayBased: cfg.Initial, LossBased: cfg.Initial, RTT: e.rtt}
	return e
}

// Sent records a packet sent with transport-wide sequence number seq at
// time at (Unix ns), size bytes on the wire.
func (e *Estimator) Sent(seq uint16, at int64, size int, kind Kind) {
	e.mu.Lock()
	e.sent.add(seq, at, size, kind)
	e.mu.Unlock()
}

// Next gives a packet about to be sent the next transport-wide sequence
// number and records it as sent, in one step: numbers follow the order
// packets are recorded in, whichever goroutine sends them.
func (e *Estimator) Next(at int64, size int, kind Kind) uint16 {
	e.mu.Lock()
	seq := e.next
	e.next++
	e.sent.add(seq, at, size, kind)
	e.mu.Unlock()
	return seq
}

// Feedback reads one transport-wide feedback packet (an RTCP packet, its
// header first), received at now (Unix ns), and moves the estimate. It
// says false for a packet that is not such feedback. Reports of packets
// never sent, or reported before, change nothing.
func (e *Estimator) Feedback(pkt []byte, now int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	statuses, _, ok := parseFeedback(pkt, e.statuses)
	if !ok {
		return false
	}
	e.stats.Feedbacks++
	received, lost := 0, 0
	var newestSent int64
	for i := range statuses {
		s := &statuses[i]
		p := e.sent.lookup(s.seq, now)
		if p == nil || p.state == slotReceived || (!s.received && p.state == slotLost) {
			continue
		}
		if !s.received {
			p.state = slotLost
			lost++
			continue
		}
		if p.state == slotLost {
			e.loss.unlost()
			e.stats.Lost--
		}
		p.state = slotReceived
		received++
		newestSent = max(newestSent, p.at)
		e.acked.add(s.arrival, int(p.size))
		e.delay.packet(p.at, s.arrival, int(p.size))
	}
	e.stats.Received += int64(received)
	e.stats.Lost += int64(lost)
	if received+lost == 0 {
		return true
	}
	if newestSent > 0 && now > newestSent {
		e.rtt = (7*e.rtt + min(now-newestSent, 1_000_000_000)) / 8
	}
	acked := e.acked.rate()
	e.rate.update(e.delay.usage, acked, e.rtt, now)
	e.rate.rate = e.clamp(e.rate.rate)
	lossBased := e.target
	if e.loss.count(received, lost) {
		if lossBased = e.loss.next(e.target, acked, e.delay.usage == Overusing, e.rtt, now); lossBased < e.target {
			e.rate.limited(lossBased, acked, now)
		}
	}
	next := e.clamp(min(lossBased, e.rate.rate))
	if next < e.target {
		e.lastFall = now
	}
	e.target = next
	if acked > probeMargin*e.target && e.delay.usage == Normal && e.loss.last <= lowLoss && now-e.lastFall > liftAfterFall {
		// What the link just delivered, well above the estimate, with no
		// delay building and no loss, is what it carries, whatever the
		// rules of increase say: a probe's padding, or a layer sent on
		// trust, has shown it. (A sender at the estimate delivers about
		// the estimate: it is not lifted by its own traffic; nor is an
		// estimate that just fell, by the queue it left draining.)
		e.target = e.clamp(acked)
		e.rate.rate = max(e.rate.rate, e.target)
	}
	e.loss.remember(e.target, now)
	e.stats.Target, e.stats.DelayBased, e.stats.LossBased = int(e.target), int(e.rate.rate), int(lossBased)
	e.stats.Acked, e.stats.Usage, e.stats.Loss, e.stats.RTT = int(acked), e.delay.usage, e.loss.last, e.rtt
	if e.delay.usage == Overusing {
		e.stats.Overuses++
	}
	return true
}

func (e *Estimator) clamp(r float64) float64 {
	return min(max(r, float64(e.cfg.Min)), float64(e.cfg.Max))
}

// Target is the estimate, bit/s.
func (e *Estimator) Target() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.Target
}

// Stats are the figures after the last feedback.
func (e *Estimator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}
