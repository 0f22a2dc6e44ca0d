package bwe

import "encoding/binary"

// Transport-wide feedback is an RTCP transport layer feedback message
// (PT 205) of format 15:
//
//	header (4) | sender SSRC (4) | media SSRC (4)
//	base sequence (2) | status count (2) | reference time (3) | fb count (1)
//	status chunks (2 each) | receive deltas (1 or 2 each) | padding
//
// A chunk is a run (one symbol, up to 8191 times) or a vector (14 one-bit
// or 7 two-bit symbols). Symbol 0: not received; 1: received, one-byte
// delta in 250 µs units; 2: received, two-byte signed delta.
const (
	rtcpTransportFeedback = 205
	fmtTransportCC        = 15
	feedbackHeaderLen     = 20
)

// status is one packet's report in a feedback packet.
type status struct {
	seq      uint16
	received bool
	arrival  int64 // µs in the receiver's clock, when received
}

// IsTransportFeedback says whether one RTCP packet (its common header
// first) is transport-wide feedback.
func IsTransportFeedback(pkt []byte) bool {
	return len(pkt) >= 4 && pkt[1] == rtcpTransportFeedback && pkt[0]&0x1f == fmtTransportCC
}

// parseFeedback reads one transport-wide feedback packet into out (reused:
// its capacity bounds what is read) and returns the statuses and the
// feedback's sequence count. It reads only what the packet holds: a count
// larger than its chunks, chunks or deltas cut short, end the list where
// the bytes end. ok is false for a packet that is not feedback at all.
func parseFeedback(pkt []byte, out []status) (_ []status, fbCount uint8, ok bool) {
	out = out[:0]
	if !IsTransportFeedback(pkt) || len(pkt) < feedbackHeaderLen {
		return out, 0, false
	}
	// The header's length is in 32-bit words, less one.
	if n := (int(binary.BigEndian.Uint16(pkt[2:4])) + 1) * 4; n < len(pkt) {
		if pkt = pkt[:n]; n < feedbackHeaderLen {
			return out, 0, false
		}
	}
	base := binary.BigEndian.Uint16(pkt[12:14])
	count := int(binary.BigEndian.Uint16(pkt[14:16]))
	ref := int64(int32(binary.BigEndian.Uint32(pkt[16:20]))>>8) * 64_000 // 24-bit signed, 64 ms units, to µs
	fbCount = pkt[19]

	// The chunks come first, for all count packets; the deltas start where
	// they end, so every chunk is walked though only the statuses out has
	// room for are kept (the deltas are in packet order: those kept come
	// first).
	i, seen := feedbackHeaderLen, 0
	keep := func(sym uint16) {
		if len(out) < cap(out) {
			out = append(out, status{seq: base + uint16(len(out)), received: sym != 0, arrival: int64(sym)})
		}
	}
	for seen < count && i+2 <= len(pkt) {
		c := binary.BigEndian.Uint16(pkt[i:])
		i += 2
		switch {
		case c&0x8000 == 0: // a run of one symbol
			run := min(int(c&0x1fff), count-seen)
			for range min(run, cap(out)-len(out)) {
				keep(c >> 13 & 0x3)
			}
			seen += run
		case c&0x4000 == 0: // fourteen one-bit symbols
			for k := 13; k >= 0 && seen < count; k-- {
				keep(c >> uint(k) & 1)
				seen++
			}
		default: // seven two-bit symbols
			for k := 6; k >= 0 && seen < count; k-- {
				keep(c >> uint(2*k) & 3)
				seen++
			}
		}
	}
	// The deltas, one per received packet, in order; arrival held the
	// symbol until now.
	at := ref
	for k := range out {
		s := &out[k]
		if !s.received {
			continue
		}
		switch s.arrival {
		case 1:
			if i+1 > len(pkt) {
				return out[:k], fbCount, true
			}
			at += int64(pkt[i]) * 250
			i++
		case 2:
			if i+2 > len(pkt) {
				return out[:k], fbCount, true
			}
			at += int64(int16(binary.BigEndian.Uint16(pkt[i:]))) * 250
			i += 2
		default: // symbol 3 is reserved: the rest cannot be read
			return out[:k], fbCount, true
		}
		s.arrival = at
	}
	return out, fbCount, true
}
