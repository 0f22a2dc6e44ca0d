package mediaserver

import (
	"testing"

	"github.com/pion/rtp"
)

func TestHistoryKeepsTheLastPacketsAndNothingStale(t *testing.T) {
	h := newHistory()
	pkt := func(seq uint16) *rtp.Packet {
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 10, CSRC: []uint32{7}},
			Payload: []byte{byte(seq), byte(seq >> 8)}}
		if err := p.Header.SetExtension(3, []byte{1}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Wrap around the sequence space on the way.
	for seq := uint16(65000); seq != 2000; seq++ {
		h.add(pkt(seq))
	}
	var hdr rtp.Header
	buf := make([]byte, 0, 1500)
	got, ok := h.get(1999, &hdr, buf)
	if !ok || hdr.SequenceNumber != 1999 || hdr.Timestamp != 19990 || len(got) != 2 || got[0] != byte(1999&0xff) {
		t.Fatalf("latest packet: ok %v, %+v, %v", ok, hdr, got)
	}
	if hdr.Extension || len(hdr.Extensions) != 0 || len(hdr.CSRC) != 1 || hdr.CSRC[0] != 7 {
		t.Fatalf("kept header: %+v", hdr)
	}
	if _, ok := h.get(2000-historySize, &hdr, buf); !ok {
		t.Fatal("the oldest kept packet is gone")
	}
	// One slot further back was overwritten by a newer packet.
	if _, ok := h.get(2000-historySize-1, &hdr, buf); ok {
		t.Fatal("a packet older than the history was returned")
	}
	if _, ok := h.get(2001, &hdr, buf); ok {
		t.Fatal("a packet never sent was returned")
	}
}

func TestHistoryAddAllocatesNothing(t *testing.T) {
	h := newHistory()
	p := &rtp.Packet{Header: rtp.Header{CSRC: []uint32{1, 2}}, Payload: make([]byte, 1200)}
	var hdr rtp.Header
	buf := make([]byte, 0, 1500)
	if n := testing.AllocsPerRun(1000, func() {
		p.SequenceNumber++
		h.add(p)
		buf, _ = h.get(p.SequenceNumber, &hdr, buf)
	}); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}
