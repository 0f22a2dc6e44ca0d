package mediaserver

import (
	"encoding/binary"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// transportCC is the interceptor of the connection a peer receives on: it
// gives every packet the transport-wide sequence number the subscriber's
// feedback is about, tells the estimator (mediaserver/bwe) what was sent,
// and reads the feedback to it before pion sees the RTCP. It stands where
// pion's twcc and cc/gcc interceptors stood; unlike them it keeps no list,
// map or goroutine per packet or feedback, and reads feedback addressed to
// any of the connection's streams.
type transportCC struct {
	interceptor.NoOp
	est      *bwe.Estimator
	feedback *feedbackCount
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
	if id == 0 {
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
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		kind := bwe.Media
		switch {
		case h.Padding && len(payload) == 0:
			kind = bwe.Padding
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
}

// BindRTCPReader reads transport-wide feedback into the estimator and takes
// it out of what pion parses next: pion's parser allocates per packet
// reported, and nothing else wants it. A read that held nothing else is
// followed by the next: the interceptors after this one take an empty
// read for a broken packet, and the reading loop ends on it.
func (t *transportCC) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attrs, err := r.Read(b, a)
			if err != nil {
				return n, attrs, err
			}
			if n = t.takeFeedback(b[:n]); n > 0 {
				return n, attrs, nil
			}
		}
	})
}

// takeFeedback reads the feedback in a compound packet and closes the gap
// it leaves; it returns what is left's length.
func (t *transportCC) takeFeedback(b []byte) int {
	now := time.Now().UnixNano()
	n, read := len(b), false
	for i := 0; i+4 <= n; {
		size := (int(binary.BigEndian.Uint16(b[i+2:])) + 1) * 4
		if i+size > n {
			break // a broken compound: pion's parser says so
		}
		if !bwe.IsTransportFeedback(b[i : i+size]) {
			i += size
			continue
		}
		t.est.Feedback(b[i:i+size], now)
		read = true
		copy(b[i:], b[i+size:n])
		n -= size
	}
	if read {
		st := t.est.Stats()
		t.feedback.received.Store(st.Received)
		t.feedback.lost.Store(st.Lost)
	}
	return n
}
