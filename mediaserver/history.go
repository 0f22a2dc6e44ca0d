package mediaserver

import (
	"sync"

	"github.com/pion/rtp"
)

// historySize is how many packets of one track are kept for retransmission:
// about a second of video at 1 Mbit/s, more than a NACK's round trip.
const historySize = 512

// history keeps the last packets of one published track, once for all its
// subscribers, to answer their NACKs. Its slots are allocated up front.
type history struct {
	mu    sync.Mutex
	slots [historySize]historySlot
}

type historySlot struct {
	valid   bool
	header  rtp.Header
	csrc    [15]uint32 // the most RTP allows; header.CSRC points here
	payload []byte
	// kept are the payloads of the track's kept header extensions
	// (extensions.go), which the header does not keep.
	kept keptCopy
}

func newHistory() *history {
	h := &history{}
	for i := range h.slots {
		h.slots[i].payload = make([]byte, 0, 1500)
	}
	return h
}

// add keeps a copy of p, without header extensions but with kept, the
// payloads of its kept ones. It reports false, keeping nothing, for a
// packet it already holds: a second repair of a lost packet, or a
// browser's probe made of packets it sent before.
func (h *history) add(p *rtp.Packet, kept *keptPayloads) bool {
	if len(p.Payload) > 1500 || len(p.CSRC) > 15 {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.slots[p.SequenceNumber%historySize]
	if s.valid && s.header.SequenceNumber == p.SequenceNumber && s.header.SSRC == p.SSRC && s.header.Timestamp == p.Timestamp {
		return false
	}
	s.valid = true
	s.header = p.Header
	n := copy(s.csrc[:], p.CSRC)
	s.header.CSRC = s.csrc[:n:n]
	s.header.Extension, s.header.ExtensionProfile, s.header.Extensions = false, 0, nil
	s.payload = append(s.payload[:0], p.Payload...)
	s.kept.set(kept)
	return true
}

// get copies the packet with sequence number seq into hdr, payload and
// kept, if it is still kept; the copy is the caller's.
func (h *history) get(seq uint16, hdr *rtp.Header, payload []byte, kept *keptCopy) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.slots[seq%historySize]
	if !s.valid || s.header.SequenceNumber != seq {
		return payload, false
	}
	*hdr = s.header
	*kept = s.kept
	return append(payload[:0], s.payload...), true
}

// size is the payload size of the packet with sequence number seq; -1 if
// it is no longer kept.
func (h *history) size(seq uint16) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.slots[seq%historySize]
	if !s.valid || s.header.SequenceNumber != seq {
		return -1
	}
	return len(s.payload)
}
