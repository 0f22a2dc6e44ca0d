package bwe

// Kind is what a sent packet carried.
type Kind uint8

const (
	Media Kind = iota
	Retransmission
	Padding
)

// ringSize is how many sent packets are remembered: 4096 is four seconds
// at a thousand packets a second, more than any feedback is late.
const ringSize = 1 << 12

// What a feedback report may say of a sent packet.
const (
	slotEmpty uint8 = iota
	slotSent
	slotLost     // reported not received (it may still be reported received)
	slotReceived // reported received: later reports of it are ignored
)

// sentPacket is one packet sent, in the ring at its sequence number.
type sentPacket struct {
	at    int64 // Unix ns
	size  uint16
	seq   uint16 // the full number, so a report for another lap is known
	kind  Kind
	state uint8
}

// maxReportAge is how old a sent packet may be for a report of it to
// count: an older one in its slot is a number reused from a lap before.
const maxReportAge = 5_000_000_000

// sentRing is the sent packets, indexed by sequence number.
type sentRing [ringSize]sentPacket

func (r *sentRing) add(seq uint16, at int64, size int, kind Kind) {
	r[seq%ringSize] = sentPacket{at: at, size: uint16(min(size, 0xffff)), seq: seq, kind: kind, state: slotSent}
}

// lookup finds the packet a report names; nil for one never sent, or sent
// too long before now.
func (r *sentRing) lookup(seq uint16, now int64) *sentPacket {
	p := &r[seq%ringSize]
	if p.state == slotEmpty || p.seq != seq || now-p.at > maxReportAge {
		return nil
	}
	return p
}
