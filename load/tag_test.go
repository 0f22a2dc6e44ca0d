package load

import (
	"testing"

	"github.com/pion/rtp"
)

// A receiver finds the sender's tag past any header extension and before
// any padding, and nothing in payloads too short to hold one.
func TestTagsSurviveHeaderExtensionsAndPadding(t *testing.T) {
	for name, c := range map[string]struct {
		pkt  rtp.Packet
		skip int
		want uint32
	}{
		"plain":        {rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 100)}, 2, 42},
		"extensions":   {rtp.Packet{Header: withExtensions(), Payload: make([]byte, 160)}, 0, 7},
		"padding":      {rtp.Packet{Header: rtp.Header{Version: 2, Padding: true}, Payload: make([]byte, 50), PaddingSize: 9}, 2, 9},
		"csrcs":        {rtp.Packet{Header: rtp.Header{Version: 2, CSRC: []uint32{1, 2}}, Payload: make([]byte, 8)}, 0, 3},
		"too short":    {rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 5)}, 2, 0},
		"just fitting": {rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 6)}, 2, 1},
	} {
		putTag(c.pkt.Payload, c.skip, c.want)
		b, err := c.pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got := tagIn(b); got != c.want {
			t.Errorf("%s: tag %d, want %d", name, got, c.want)
		}
	}
	if tagIn([]byte{0x80, 0, 0}) != 0 {
		t.Error("a runt packet has a tag")
	}
}

func withExtensions() rtp.Header {
	h := rtp.Header{Version: 2}
	h.SetExtension(1, []byte{0x90})
	h.SetExtension(3, []byte("mid1"))
	return h
}
