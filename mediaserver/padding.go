package mediaserver

import (
	"time"

	"github.com/pion/rtp"
	"github.com/roomgate/roomgate/mediaserver/bwe"
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

// padder sends a rate of padding (bwe.Pacer) on a binding, every
// padInterval while there is any.
type padder struct {
	bwe.Pacer
	on *binding
}

func newPadder() padder { return padder{Pacer: bwe.NewPacer(paddingSize)} }

// tick sends the padding owed since the last one.
func (pd *padder) tick(now time.Time) {
	if pd.on == nil {
		return
	}
	if n := pd.Due(now, padInterval); n > 0 && pd.on.pad(n) {
		pd.Done(n)
	}
}

// set chooses the rate and the binding padding goes on (none: nil).
func (pd *padder) set(rate int, on *binding) {
	if on == nil {
		rate = 0
	}
	pd.Set(rate, on != pd.on)
	pd.on = on
}
