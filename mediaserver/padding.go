package mediaserver

import (
	"time"

	"github.com/pion/rtp"
)

// Padding: packets that carry nothing but count for the estimate. They go
// in a video's own stream, numbered on from the media the subscriber was
// sent, as a sender without a retransmission stream pads; each gets a
// transport-wide sequence number, so the subscriber's feedback reports its
// arrival like any packet's. (On the retransmission stream they would be
// lost to the estimate: browsers address their feedback to the stream of
// the packet they got last, and pion reads none addressed to that one.)
//
// Two things use them (allocate.go): a subscriber whose videos are paused
// gets a trickle, so that its estimator hears from the link at all (with
// nothing sent there is no feedback, and the estimate and loss that paused
// the video would stay as they were for ever); and a probe for a higher
// layer pads first at what that layer would add, so that a link that
// cannot carry it shows so before a larger keyframe is sent into it (which
// would still the picture until it crawled through).
const (
	// paddingSize is the padding in one packet: RTP says its length in
	// one octet.
	paddingSize = 255
	// padInterval is how often padding goes out while there is any; each
	// time between two frames.
	padInterval = 50 * time.Millisecond
	// maxPadBurst bounds the packets one interval sends.
	maxPadBurst = 64
	// keepaliveRate is the trickle for a subscriber with its videos paused.
	keepaliveRate = 16_000
)

// canPad says whether padding can go to the subscriber on b: its
// connection carries media, and it was sent some, which the padding's
// numbers follow.
func (b *binding) canPad() bool {
	if !b.ready.Load() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

// pad sends n padding packets on b; false when it cannot now: in the middle
// of a frame, a gap in the frame's numbers would lose the frame. Padding is
// numbered on from the last packet sent, with its timestamp; the media
// after it is numbered on after the padding, and NACKs for padding are not
// answered.
func (b *binding) pad(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := int(b.cur.Load())
	if !b.started || cur >= 0 && !b.frameEnded {
		return false
	}
	first := b.lastSeq + 1
	for i := range n {
		b.padHeader = rtp.Header{Version: 2, Padding: true, PaddingSize: paddingSize, PayloadType: b.pt,
			SequenceNumber: first + uint16(i), Timestamp: b.lastTS, SSRC: b.ssrc, Extensions: b.padHeader.Extensions[:0]}
		b.write.WriteRTP(&b.padHeader, nil)
	}
	b.lastSeq += uint16(n)
	media := b.segs[b.seg]
	if !media.valid || media.layer < 0 {
		return true // paused: one run of padding, however long, until the media resumes
	}
	b.pushSegment(segment{valid: true, layer: -1, start: first})
	if cur == media.layer {
		seqOff := media.seqOff + uint16(n)
		b.pushSegment(segment{valid: true, layer: cur, start: b.lastSeq + 1, srcStart: b.lastSeq + 1 - seqOff,
			seqOff: seqOff, tsOff: media.tsOff})
	}
	return true
}

// padder spreads a rate of padding over padInterval ticks.
type padder struct {
	rate  int // bits per second; 0: none
	on    *binding
	last  time.Time
	carry int // bits owed
	sent  int // packets, ever
}

// tick sends the padding owed since the last one.
func (pd *padder) tick(now time.Time) {
	if pd.rate <= 0 || pd.on == nil {
		return
	}
	if !pd.last.IsZero() {
		pd.carry += int(int64(pd.rate) * int64(now.Sub(pd.last)) / int64(time.Second))
	}
	pd.last = now
	// Owed no more than two intervals' worth: a burst missed between
	// frames is not made up for later.
	pd.carry = min(pd.carry, 2*int(int64(pd.rate)*int64(padInterval)/int64(time.Second))+8*paddingSize)
	n := min(maxPadBurst, pd.carry/(8*paddingSize))
	if n > 0 && pd.on.pad(n) {
		pd.carry -= n * 8 * paddingSize
		pd.sent += n
	}
}

// set chooses the rate and the binding padding goes on (none: nil).
func (pd *padder) set(rate int, on *binding) {
	if on == nil {
		rate = 0
	}
	if on != pd.on || rate == 0 {
		pd.last, pd.carry = time.Time{}, 0
	}
	pd.rate, pd.on = rate, on
}
