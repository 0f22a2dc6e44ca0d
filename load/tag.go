package load

import "encoding/binary"

// Every payload a peer sends ends with its tag (its index in the run, plus
// one, in four bytes), so that whoever receives a packet knows whose it
// is, across the new ids a room gives people who come back. Payloads too
// short to hold it go untagged; 0 is no one.

func tagOf(index int) uint32 { return uint32(index) + 1 }

// putTag writes tag at the end of payload, after its first skip bytes
// (what a codec reads), if it fits.
func putTag(payload []byte, skip int, tag uint32) {
	if len(payload)-4 >= skip {
		binary.BigEndian.PutUint32(payload[len(payload)-4:], tag)
	}
}

// tagIn reads the tag at the end of an RTP packet's payload (before any
// padding); 0 when there is none.
func tagIn(pkt []byte) uint32 {
	if len(pkt) < 12 {
		return 0
	}
	start := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // a header extension
		if len(pkt) < start+4 {
			return 0
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(pkt[start+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 { // padding, its length in the last byte
		end -= int(pkt[end-1])
	}
	if end-4 < start {
		return 0
	}
	return binary.BigEndian.Uint32(pkt[end-4 : end])
}

// register makes p findable by its tag.
func (r *runner) register(p *peer) {
	if p.index < len(r.byIndex) {
		r.byIndex[p.index].Store(p)
	}
}

// sender is the peer whose tag pkt carries; nil if none.
func (r *runner) sender(pkt []byte) *peer {
	t := tagIn(pkt)
	if t == 0 || int(t) > len(r.byIndex) {
		return nil
	}
	return r.byIndex[t-1].Load()
}
