package bwe

import "time"

// Pacer spreads a rate of padding over ticks: each tick says how many
// packets are due, and the sender says how many it sent (it may send none
// in the middle of a frame). The rate is bits per second; 0: none.
type Pacer struct {
	rate  int
	size  int // bytes of padding a packet carries
	last  time.Time
	carry int // bits owed
	sent  int // packets, ever
}

// MaxPadBurst bounds the packets one tick sends.
const MaxPadBurst = 64

// NewPacer makes a pacer of packets of size bytes.
func NewPacer(size int) Pacer { return Pacer{size: size} }

// Set changes the rate; a change of where the padding goes (restart)
// forgets what was owed.
func (p *Pacer) Set(rate int, restart bool) {
	if restart || rate == 0 {
		p.last, p.carry = time.Time{}, 0
	}
	p.rate = rate
}

// Rate is the rate set.
func (p *Pacer) Rate() int { return p.rate }

// Sent counts the padding packets sent, ever.
func (p *Pacer) Sent() int { return p.sent }

// Due says how many packets are owed at now, interval after the last tick
// at most two intervals' worth: a burst missed between frames is not made
// up for later.
func (p *Pacer) Due(now time.Time, interval time.Duration) int {
	if p.rate <= 0 {
		return 0
	}
	if !p.last.IsZero() {
		p.carry += int(int64(p.rate) * int64(now.Sub(p.last)) / int64(time.Second))
	}
	p.last = now
	p.carry = min(p.carry, 2*int(int64(p.rate)*int64(interval)/int64(time.Second))+8*p.size)
	return max(0, min(MaxPadBurst, p.carry/(8*p.size)))
}

// Done says n packets of the pacer's size went.
func (p *Pacer) Done(n int) { p.Spent(n, n*p.size) }

// Spent says n packets of bytes in all went: padding that resends media
// comes in packets of any size, and may overshoot what was due, which the
// next ticks owe less for.
func (p *Pacer) Spent(n, bytes int) {
	p.carry -= bytes * 8
	p.sent += n
}
