package gateway

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"
)

// frame makes a server's WebSocket text frame of n payload bytes, with the
// header length form n needs (7 bits, 16 bits, 64 bits).
func frame(n int, masked bool) []byte {
	var f []byte
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	switch {
	case n < 126:
		f = []byte{0x81, mask | byte(n)}
	case n < 1<<16:
		f = []byte{0x81, mask | 126, 0, 0}
		binary.BigEndian.PutUint16(f[2:], uint16(n))
	default:
		f = append([]byte{0x81, mask | 127}, make([]byte, 8)...)
		binary.BigEndian.PutUint64(f[2:], uint64(n))
	}
	if masked {
		f = append(f, 1, 2, 3, 4)
	}
	return append(f, bytes.Repeat([]byte{'x'}, n)...)
}

// The tracker is between frames exactly at the end of each, however the
// stream is cut into writes.
func TestFrameTrackerFindsTheEndOfEveryFrame(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	for _, masked := range []bool{false, true} {
		var stream []byte
		ends := map[int]bool{}
		for _, n := range sizes {
			stream = append(stream, frame(n, masked)...)
			ends[len(stream)] = true
		}
		for round := range 20 {
			var f frameTracker
			for pos := 0; pos < len(stream); {
				step := 1 + rand.IntN(3000)
				if round == 0 {
					step = 1 // byte by byte
				}
				step = min(step, len(stream)-pos)
				f.consume(stream[pos : pos+step])
				pos += step
				if got := f.between(); got != ends[pos] {
					t.Fatalf("masked %v, round %d: between() = %v after %d bytes", masked, round, got, pos)
				}
			}
		}
	}
}

// A goodbye after whole frames writes the close frame with its code and
// reason; one in the middle of a frame writes nothing more; and nothing is
// written after a goodbye.
func TestGoodbyeWritesACloseFrameOnlyBetweenFrames(t *testing.T) {
	for _, half := range []bool{false, true} {
		client, server := net.Pipe()
		sc := &streamConn{Conn: server}
		got := make(chan []byte)
		go func() {
			var all bytes.Buffer
			buf := make([]byte, 4096)
			for {
				n, err := client.Read(buf)
				all.Write(buf[:n])
				if err != nil {
					got <- all.Bytes()
					return
				}
			}
		}()
		msg := frame(200, false)
		if half {
			msg = msg[:100]
		}
		if _, err := sc.Write(msg); err != nil {
			t.Fatal(err)
		}
		sc.goodbye(cutRevoked)
		if _, err := sc.Write(frame(3, false)); err == nil {
			t.Error("a write after goodbye went through")
		}
		out := <-got
		rest := out[len(msg):]
		if half {
			if len(rest) != 0 {
				t.Errorf("half a frame, then %x", rest)
			}
			continue
		}
		want := append([]byte{0x88, byte(2 + len("revoked")), 0x0f, 0xa1}, "revoked"...)
		if !bytes.Equal(rest, want) {
			t.Errorf("close frame %x; want %x", rest, want)
		}
	}
}
