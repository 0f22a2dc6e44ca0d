package mediaserver

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/packetio"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// transportCC is the interceptor of the connection a peer receives on: it
// gives every packet the transport-wide sequence number the subscriber's
// feedback is about, and tells the estimator (mediaserver/bwe) what was
// sent; its feedbackBuffer reads the feedback to it before pion sees the
// RTCP. It stands where pion's twcc and cc/gcc interceptors stood; unlike
// them it keeps no list, map or goroutine per packet or feedback, and reads
// feedback addressed to any of the connection's streams, retransmission
// streams too.
type transportCC struct {
	interceptor.NoOp
	est      *bwe.Estimator
	feedback *feedbackCount

	mu sync.Mutex
	// rtxWriters holds a stream's writer for its retransmission stream's
	// packets, from its binding here until pastReports takes it.
	rtxWriters map[uint32]interceptor.RTPWriter
}

type transportCCFactory struct{ t *transportCC }

func (f transportCCFactory) NewInterceptor(string) (interceptor.Interceptor, error) { return f.t, nil }

// BindLocalStream numbers the stream's packets, if the subscriber
// negotiated transport-wide numbers for it.
func (t *transportCC) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 15 {
			id = uint8(e.ID)
		}
	}
	rtx := info.SSRCRetransmission
	if id == 0 {
		t.keepRTXWriter(rtx, w)
		return w
	}
	// A stream's writes never overlap (its binding's lock is held), so one
	// buffer serves all its packets: the header is marshalled before
	// Write returns.
	var (
		num     [2]byte
		highest uint16
		started bool
	)
	numbered := interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		kind := bwe.Media
		switch {
		case h.Padding && len(payload) == 0:
			kind = bwe.Padding
		case rtx != 0 && h.SSRC == rtx:
			// A retransmission, or padding that resends media: its
			// numbers are its own stream's, not the video's.
			kind = bwe.Retransmission
		case started && int16(h.SequenceNumber-highest) <= 0:
			kind = bwe.Retransmission
		default:
			highest, started = h.SequenceNumber, true
		}
		// The size counts the extension about to be added (4 bytes with
		// its header and padding, as one-byte extensions usually have).
		size := h.MarshalSize() + 4 + len(payload) + int(h.PaddingSize)
		binary.BigEndian.PutUint16(num[:], t.est.Next(time.Now().UnixNano(), size, kind))
		_ = h.SetExtension(id, num[:]) // cannot fail: a 2-byte payload under an id of 1-14
		return w.Write(h, payload, a)
	})
	t.keepRTXWriter(rtx, numbered)
	return numbered
}

func (t *transportCC) keepRTXWriter(rtx uint32, w interceptor.RTPWriter) {
	if rtx == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rtxWriters == nil {
		t.rtxWriters = map[uint32]interceptor.RTPWriter{}
	}
	t.rtxWriters[rtx] = w
}

func (t *transportCC) takeRTXWriter(rtx uint32) interceptor.RTPWriter {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.rtxWriters[rtx]
	delete(t.rtxWriters, rtx)
	return w
}

// pastReports takes a stream's retransmission stream's packets past the
// sender-report interceptor, straight to transportCC's writer: pion's
// counts them as the video's, and their numbers and old timestamps would
// move the video's RTP-to-wall-clock mapping, which receivers keep audio
// and video in sync by.
type pastReports struct {
	interceptor.NoOp
	t *transportCC
}

type pastReportsFactory struct{ t *transportCC }

func (f pastReportsFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &pastReports{t: f.t}, nil
}

func (p *pastReports) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	rtx := info.SSRCRetransmission
	inner := p.t.takeRTXWriter(rtx)
	if inner == nil {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC == rtx {
			return inner.Write(h, payload, a)
		}
		return w.Write(h, payload, a)
	})
}

// feedbackBuffer is the buffer pion's SRTP session puts the RTCP
// addressed to one of the connection's SSRCs in (webrtc.SettingEngine's
// BufferFactory). It reads transport-wide feedback into the estimator
// instead: pion's parser allocates per packet reported, and nothing else
// wants it. It is read here, not in an interceptor's RTCP reader, because
// feedback addressed to a retransmission stream (browsers and pion address
// theirs to the stream of the packet they got last) goes to no reader:
// pion reads RTCP for the SSRCs it sends media on only. With t nil it is
// a plain buffer, as pion's own (pion/srtp's packetBuffer).
type feedbackBuffer struct {
	*packetio.Buffer
	t *transportCC
	// rest holds what a compound packet has besides feedback (reused;
	// pion/srtp writes one packet at a time, so it is seldom needed).
	rest []byte
}

// Pion's own limits for the buffers it makes (pion/srtp).
const (
	rtpBufferLimit  = 1000 * 1000
	rtcpBufferLimit = 100 * 1000
)

// buffer makes the buffers of the subscriber's SRTP sessions.
func (t *transportCC) buffer(kind packetio.BufferPacketType, _ uint32) io.ReadWriteCloser {
	b := &feedbackBuffer{Buffer: packetio.NewBuffer()}
	if kind == packetio.RTPBufferPacket {
		b.SetLimitSize(rtpBufferLimit)
		return b
	}
	b.SetLimitSize(rtcpBufferLimit)
	b.t = t
	return b
}

func (f *feedbackBuffer) Read(b []byte) (int, error) {
	n, _, err := f.Buffer.Read(b, nil)
	return n, err
}

func (f *feedbackBuffer) ReadWithAttributes(b []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return f.Buffer.Read(b, a)
}

func (f *feedbackBuffer) Write(b []byte) (int, error) { return f.WriteWithAttributes(b, nil) }

// WriteWithAttributes takes the feedback out of what it is given (one RTCP
// packet, as pion/srtp splits compounds; a compound is read whole all the
// same) and keeps the rest for pion's reader. A buffer nobody reads (a
// retransmission stream's, addressed by receiver reports) fills up: what
// does not fit is dropped here rather than failing the write, which makes
// pion/srtp drop the rest of the compound packet (a NACK, a keyframe
// request) with it.
func (f *feedbackBuffer) WriteWithAttributes(b []byte, a packetio.Attributes) (int, error) {
	rest := b
	if f.t != nil {
		rest = f.t.takeFeedback(b, &f.rest)
	}
	if len(rest) > 0 {
		if _, err := f.Buffer.Write(rest, a); err != nil && !errors.Is(err, packetio.ErrFull) {
			return 0, err
		}
	}
	return len(b), nil
}

// takeFeedback reads the transport-wide feedback in an RTCP packet or
// compound into the estimator and returns the rest: b itself when it held
// none, else a copy in *scratch (b may be written to other streams' buffers
// after this one's).
func (t *transportCC) takeFeedback(b []byte, scratch *[]byte) []byte {
	now := time.Now().UnixNano()
	read := false
	rest := (*scratch)[:0]
	for i := 0; i+4 <= len(b); {
		size := (int(binary.BigEndian.Uint16(b[i+2:])) + 1) * 4
		if i+size > len(b) {
			if read {
				rest = append(rest, b[i:]...) // a broken compound: pion's parser says so
			}
			break
		}
		pkt := b[i : i+size]
		if bwe.IsTransportFeedback(pkt) {
			if !read {
				rest = append(rest, b[:i]...)
			}
			t.est.Feedback(pkt, now)
			read = true
		} else if read {
			rest = append(rest, pkt...)
		}
		i += size
	}
	if !read {
		return b
	}
	*scratch = rest
	st := t.est.Stats()
	t.feedback.received.Store(st.Received)
	t.feedback.lost.Store(st.Lost)
	return rest
}
