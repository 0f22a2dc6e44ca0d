package load

import (
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"

	"github.com/pion/rtp"
)

// maxVP8Payload is the most one synthetic packet carries, as a browser
// keeps packets under a typical path MTU.
const maxVP8Payload = 1100

// VP8Layer makes RTP packets shaped like one layer of a VP8 camera: frames
// at a steady rate and bitrate, each packet starting with VP8's payload
// descriptor, so that a server can tell a keyframe's first packet (and
// read its width) from the others. It starts with a keyframe, and sends
// another, three times a frame's size, whenever asked. The last byte of
// every payload is Mark, so a receiver can tell which layer it got.
type VP8Layer struct {
	Width, Height int
	FPS           int
	Mark          byte
	frameBytes    int
	seq           uint16
	ts            uint32
	key           atomic.Bool
}

// NewVP8Layer makes a layer of the given size, bitrate (bits per second)
// and frame rate.
func NewVP8Layer(width, height, bitrate, fps int, mark byte) *VP8Layer {
	l := &VP8Layer{Width: width, Height: height, FPS: fps, Mark: mark,
		frameBytes: max(16, bitrate/8/fps), seq: uint16(rand.IntN(1 << 16)), ts: rand.Uint32()}
	l.key.Store(true)
	return l
}

// RequestKeyframe makes the next frame a keyframe.
func (l *VP8Layer) RequestKeyframe() { l.key.Store(true) }

// Frame returns the next frame's packets.
func (l *VP8Layer) Frame() []*rtp.Packet {
	key := l.key.Swap(false)
	size := l.frameBytes
	if key {
		size *= 3
	}
	var pkts []*rtp.Packet
	for off := 0; off < size; off += maxVP8Payload {
		n := min(maxVP8Payload, size-off)
		payload := make([]byte, max(n, 12))
		if off == 0 {
			payload[0] = 0x10 // S: the start of partition 0
			payload[1] = 0x01 // P: an inter frame
			if key {
				// RFC 6386 section 9.1: P=0, the start code, the size.
				payload[1] = 0x00
				copy(payload[4:7], []byte{0x9d, 0x01, 0x2a})
				binary.LittleEndian.PutUint16(payload[7:], uint16(l.Width))
				binary.LittleEndian.PutUint16(payload[9:], uint16(l.Height))
			}
		}
		payload[len(payload)-1] = l.Mark
		pkts = append(pkts, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: l.seq, Timestamp: l.ts}, Payload: payload})
		l.seq++
	}
	pkts[len(pkts)-1].Marker = true
	l.ts += 90000 / uint32(l.FPS)
	return pkts
}
