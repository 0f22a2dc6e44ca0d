package mediaserver

import (
	"time"

	"github.com/pion/rtp"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// Padding: packets that carry nothing new but count for the estimate.
// Each gets a transport-wide sequence number, so the subscriber's feedback
// reports its arrival like any packet's. For a subscriber that accepted a
// retransmission stream they go there, as browsers send theirs (rtx.go):
// padding alone, which needs no end of a frame and takes no place in the
// video's numbers (resent media packets stilled Chromium's picture). For
// one without (or with paddingStream "media"), they go in the video's own
// stream, numbered on from the media the subscriber was sent, between
// frames only. Feedback the subscriber addresses to the retransmission
// stream (browsers and pion address theirs to the stream of the packet
// they got last) is read too (feedbackBuffer, transportcc.go).
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

// paddingStream is where padding goes for a subscriber with a
// retransmission stream: "rtx", or "media" (the video's own stream, as
// before there was one), kept to compare the two in turns on one machine.
// Operators have no reason to choose, so it is no setting; a build may:
// go build -ldflags=-X=github.com/roomgate/roomgate/mediaserver.paddingStream=media
var paddingStream = "rtx"

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

// pad sends about bytes of padding on b, and says how many packets and
// bytes went: none when it cannot now.
func (b *binding) pad(bytes int) (packets, sent int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.started {
		return 0, 0
	}
	if b.rtx.ssrc != 0 && paddingStream == "rtx" {
		return b.padRTX(bytes)
	}
	n := min(bwe.MaxPadBurst, bytes/paddingSize)
	if n <= 0 || !b.padMedia(n) {
		return 0, 0
	}
	return n, n * paddingSize
}

// padMedia sends n padding packets in the video's own stream; false when
// it cannot now: in the middle of a frame, a gap in the frame's numbers
// would lose the frame. Padding is numbered on from the last packet sent,
// with its timestamp; the media after it is numbered on after the padding,
// and NACKs for padding are not answered. b.mu is held.
func (b *binding) padMedia(n int) bool {
	cur := int(b.cur.Load())
	if cur >= 0 && !b.frameEnded {
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
	if n := pd.Due(now, padInterval); n > 0 {
		if packets, bytes := pd.on.pad(n * paddingSize); packets > 0 {
			pd.Spent(packets, bytes)
		}
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
