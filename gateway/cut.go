package gateway

import (
	"encoding/binary"
	"time"
)

// cut is why the gateway ends an admitted connection itself. The person's
// page reads it from the WebSocket close frame the gateway writes before it
// closes the connection, and says what happened instead of trying to come
// back (docs/signalling.md, "Cut by the gateway").
type cut struct {
	code   uint16 // a close code from the private range, 4000-4999
	reason string // the close frame's reason: a code word, never a secret
}

var (
	cutRevoked      = cut{4001, "revoked"}       // the token was revoked
	cutRoomEnded    = cut{4002, "ended"}         // the room was deleted or expired
	cutSessionEnded = cut{4003, "session_ended"} // the host's login ended
	cutBanned       = cut{4004, "banned"}        // the person was banned
	cutTimeUp       = cut{4005, "time_up"}       // the token's time in the room ran out
)

// goodbyeTimeout bounds the close frame's write: a client that reads
// nothing must not hold a cut up.
const goodbyeTimeout = 250 * time.Millisecond

// closeFrame is a WebSocket close frame from a server (unmasked, RFC 6455
// §5.5.1) carrying c's code and reason.
func (c cut) closeFrame() []byte {
	f := make([]byte, 4, 4+len(c.reason))
	f[0] = 0x88 // FIN, opcode close
	f[1] = byte(2 + len(c.reason))
	binary.BigEndian.PutUint16(f[2:], c.code)
	return append(f, c.reason...)
}

// frameTracker follows the WebSocket frames the media server sends the
// client, as reverse_proxy copies them in pieces of any size, so that the
// gateway writes its own frame only between two of them. Frames from a
// server are unmasked, but a mask is allowed for.
type frameTracker struct {
	head    [14]byte // the current frame's header, as far as it has come
	n       int      // header bytes seen
	payload uint64   // payload bytes of the current frame still to come
}

func (f *frameTracker) consume(p []byte) {
	for len(p) > 0 {
		if f.payload > 0 {
			k := min(uint64(len(p)), f.payload)
			f.payload -= k
			p = p[k:]
			continue
		}
		f.head[f.n] = p[0]
		f.n++
		p = p[1:]
		if f.n >= 2 && f.n == f.headerLen() {
			f.payload = f.payloadLen()
			f.n = 0
		}
	}
}

func (f *frameTracker) headerLen() int {
	n := 2
	switch f.head[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if f.head[1]&0x80 != 0 {
		n += 4
	}
	return n
}

func (f *frameTracker) payloadLen() uint64 {
	switch l := f.head[1] & 0x7f; l {
	case 126:
		return uint64(binary.BigEndian.Uint16(f.head[2:]))
	case 127:
		return binary.BigEndian.Uint64(f.head[2:])
	default:
		return uint64(l)
	}
}

// between reports whether the last frame written is complete.
func (f *frameTracker) between() bool { return f.n == 0 && f.payload == 0 }
