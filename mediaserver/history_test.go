package mediaserver

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
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
		h.add(pkt(seq), &keptPayloads{})
	}
	var hdr rtp.Header
	var kept keptCopy
	buf := make([]byte, 0, 1500)
	got, ok := h.get(1999, &hdr, buf, &kept)
	if !ok || hdr.SequenceNumber != 1999 || hdr.Timestamp != 19990 || len(got) != 2 || got[0] != byte(1999&0xff) {
		t.Fatalf("latest packet: ok %v, %+v, %v", ok, hdr, got)
	}
	if hdr.Extension || len(hdr.Extensions) != 0 || len(hdr.CSRC) != 1 || hdr.CSRC[0] != 7 {
		t.Fatalf("kept header: %+v", hdr)
	}
	if _, ok := h.get(2000-historySize, &hdr, buf, &kept); !ok {
		t.Fatal("the oldest kept packet is gone")
	}
	// One slot further back was overwritten by a newer packet.
	if _, ok := h.get(2000-historySize-1, &hdr, buf, &kept); ok {
		t.Fatal("a packet older than the history was returned")
	}
	if _, ok := h.get(2001, &hdr, buf, &kept); ok {
		t.Fatal("a packet never sent was returned")
	}
}

func TestHistoryAddAllocatesNothing(t *testing.T) {
	h := newHistory()
	p := &rtp.Packet{Header: rtp.Header{CSRC: []uint32{1, 2}}, Payload: make([]byte, 1200)}
	p.Header.SetExtension(3, []byte{0x9e})
	exts := []keptExtension{{uri: sdp.AudioLevelURI, id: 3}}
	var hdr rtp.Header
	var kept keptCopy
	buf := make([]byte, 0, 1500)
	if n := testing.AllocsPerRun(1000, func() {
		p.SequenceNumber++
		v := keptPayloadsOf(exts, &p.Header)
		h.add(p, &v)
		buf, _ = h.get(p.SequenceNumber, &hdr, buf, &kept)
	}); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

// The history keeps the payloads of the kept extensions, each as long as
// an extension's payload may be in a one-byte header at most; a longer one,
// and one the packet does not carry, comes back as none.
func TestHistoryKeepsTheKeptExtensionsPayloads(t *testing.T) {
	h := newHistory()
	exts := []keptExtension{{uri: sdp.AudioLevelURI, id: 3}, {uri: videoOrientationURI, id: 20}}
	long := bytes.Repeat([]byte{7}, maxKeptExtensionSize+1)
	full := bytes.Repeat([]byte{5}, maxKeptExtensionSize)
	p := &rtp.Packet{Header: rtp.Header{SequenceNumber: 1, Extension: true, ExtensionProfile: rtp.ExtensionProfileTwoByte}, Payload: []byte{1}}
	p.Header.SetExtension(3, []byte{0x9e})
	p.Header.SetExtension(20, long)
	p.Header.SetExtension(4, []byte{1}) // not kept
	v := keptPayloadsOf(exts, &p.Header)
	h.add(p, &v)
	q := &rtp.Packet{Header: rtp.Header{SequenceNumber: 2}, Payload: []byte{2}}
	q.Header.SetExtension(20, full)
	v = keptPayloadsOf(exts, &q.Header)
	h.add(q, &v)
	h.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: 3}, Payload: []byte{3}}, &keptPayloads{})

	var hdr rtp.Header
	var kept keptCopy
	buf := make([]byte, 0, 1500)
	for _, c := range []struct {
		seq  uint16
		want keptPayloads
	}{
		{1, keptPayloads{{0x9e}, nil}},
		{2, keptPayloads{nil, full}},
		{3, keptPayloads{}},
	} {
		kept.set(&keptPayloads{{9}, {9}}) // what an earlier retransmission left
		if _, ok := h.get(c.seq, &hdr, buf, &kept); !ok {
			t.Fatalf("packet %d is gone", c.seq)
		}
		got := kept.payloads()
		for i := range got {
			if (got[i] == nil) != (c.want[i] == nil) || !bytes.Equal(got[i], c.want[i]) {
				t.Fatalf("packet %d: kept extension %d is %v, not %v", c.seq, i, got[i], c.want[i])
			}
		}
		if hdr.Extension || len(hdr.Extensions) != 0 {
			t.Fatalf("packet %d: the kept header has extensions: %+v", c.seq, hdr)
		}
	}
}
