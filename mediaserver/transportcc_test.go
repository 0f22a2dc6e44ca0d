package mediaserver

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/packetio"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// Every packet to a subscriber gets the next transport-wide number under
// the negotiated id, whatever it is (media, a retransmission, padding), and
// the feedback on them is read and taken out of the RTCP pion reads.
func TestTransportCCNumbersPacketsAndReadsTheirFeedback(t *testing.T) {
	var fb feedbackCount
	tc := &transportCC{est: bwe.New(bwe.Config{Initial: 1_000_000, Min: 30_000, Max: 50_000_000}), feedback: &fb}
	for range 65534 { // numbers wrap on the way
		tc.est.Next(0, 0, bwe.Media)
	}
	var got []uint16
	w := tc.BindLocalStream(&interceptor.StreamInfo{RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}},
		interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
			got = append(got, binary.BigEndian.Uint16(h.GetExtension(5)))
			return 0, nil
		}))
	for _, h := range []rtp.Header{
		{SequenceNumber: 100}, {SequenceNumber: 101}, {SequenceNumber: 100}, // the last a retransmission
		{SequenceNumber: 102, Padding: true, PaddingSize: 255},
	} {
		if _, err := w.Write(&h, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := []uint16{65534, 65535, 0, 1}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("numbers %v; want %v", got, want)
	}
	if plain := tc.BindLocalStream(&interceptor.StreamInfo{}, nil); plain != nil {
		t.Fatal("a stream without transport-wide numbers negotiated was numbered")
	}

	// A compound packet: a receiver report, the feedback (three received,
	// one lost), a keyframe request.
	rec := twcc.NewRecorder(1)
	for i, seq := range []uint16{65534, 65535, 1} {
		rec.Record(2, seq, int64(10_000+i*1000))
	}
	compound := reportFeedbackAndPLI(t, rec)
	// pion's SRTP session writes each packet of a compound to the
	// buffer of the SSRC it is addressed to, whichever that is.
	buf := tc.buffer(packetio.RTCPBufferPacket, 2)
	pkts, err := rtcp.Unmarshal(compound)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		b, _ := p.Marshal()
		if n, err := buf.Write(b); err != nil || n != len(b) {
			t.Fatalf("wrote %d of %d: %v", n, len(b), err)
		}
	}
	left := readRTCPFrom(t, buf, 2)
	if _, ok := left[1].(*rtcp.PictureLossIndication); !ok || len(left) != 2 {
		t.Fatalf("left for pion: %v", left)
	}
	if st := tc.est.Stats(); st.Feedbacks != 1 || st.Received != 3 || st.Lost != 1 {
		t.Fatalf("the estimator read %+v", st)
	}
	if received, lost := fb.counts(); received != 3 || lost != 1 {
		t.Fatalf("the count says %d received, %d lost", received, lost)
	}
}

// A compound written whole (as pion/srtp did before it split them) has its
// feedback read and the rest kept, in order, for pion's reader; and a
// buffer nobody reads, once full, drops what comes instead of failing the
// write (pion/srtp then dropped the rest of the compound: a NACK, a
// keyframe request addressed to the video after a report on its
// retransmission stream).
func TestTheFeedbackBufferReadsCompoundsAndNeverFails(t *testing.T) {
	var fb feedbackCount
	tc := &transportCC{est: bwe.New(bwe.Config{Initial: 1_000_000, Min: 30_000, Max: 50_000_000}), feedback: &fb}
	rec := twcc.NewRecorder(1)
	for i := range 3 {
		rec.Record(2, tc.est.Next(time.Now().UnixNano(), 1000, bwe.Media), int64(10_000+i*1000))
	}
	compound := reportFeedbackAndPLI(t, rec)
	original := slices.Clone(compound)
	buf := tc.buffer(packetio.RTCPBufferPacket, 2)
	if n, err := buf.Write(compound); err != nil || n != len(compound) {
		t.Fatalf("wrote %d of %d: %v", n, len(compound), err)
	}
	if !bytes.Equal(compound, original) {
		t.Fatal("the compound was changed in place (pion/srtp may write it to other streams' buffers too)")
	}
	left := readRTCPFrom(t, buf, 1)
	if len(left) != 2 {
		t.Fatalf("left for pion: %v", left)
	}
	if _, ok := left[0].(*rtcp.ReceiverReport); !ok {
		t.Fatalf("left for pion: %v", left)
	}
	if _, ok := left[1].(*rtcp.PictureLossIndication); !ok {
		t.Fatalf("left for pion: %v", left)
	}
	if st := tc.est.Stats(); st.Feedbacks != 1 || st.Received != 3 {
		t.Fatalf("the estimator read %+v", st)
	}

	// Nobody reads this one: past pion's limit, writes still succeed.
	rr, err := (&rtcp.ReceiverReport{SSRC: 1}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	unread := tc.buffer(packetio.RTCPBufferPacket, 4)
	for i := range 2 * rtcpBufferLimit / len(rr) {
		if _, err := unread.Write(rr); err != nil {
			t.Fatalf("write %d to a full buffer: %v", i, err)
		}
	}
}

// A retransmission stream's packets are numbered like the video's but go
// past the sender reports' interceptor: their numbers and old timestamps
// are not the video's, and would move the mapping receivers sync by.
func TestRTXPacketsGoPastTheSenderReports(t *testing.T) {
	tc := &transportCC{est: bwe.New(bwe.Config{Initial: 1_000_000, Min: 30_000, Max: 50_000_000}), feedback: &feedbackCount{}}
	info := &interceptor.StreamInfo{SSRC: 1, SSRCRetransmission: 2,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}}
	var sent, reported []uint32
	numbered := tc.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		if h.GetExtension(5) == nil {
			t.Errorf("packet of SSRC %d not numbered", h.SSRC)
		}
		sent = append(sent, h.SSRC)
		return 0, nil
	}))
	reports := interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, a interceptor.Attributes) (int, error) {
		reported = append(reported, h.SSRC)
		return numbered.Write(h, p, a)
	})
	w := (&pastReports{t: tc}).BindLocalStream(info, reports)
	for _, ssrc := range []uint32{1, 2, 1} {
		if _, err := w.Write(&rtp.Header{SSRC: ssrc}, []byte{0, 1, 2}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(sent) != 3 || len(reported) != 2 || reported[0] != 1 || reported[1] != 1 {
		t.Fatalf("sent %v, of which the sender reports saw %v", sent, reported)
	}
}

// readRTCPFrom reads n writes' worth of RTCP from buf.
func readRTCPFrom(t *testing.T, buf io.Reader, n int) []rtcp.Packet {
	t.Helper()
	read := make([]byte, 1500)
	var pkts []rtcp.Packet
	for range n {
		k, err := buf.Read(read)
		if err != nil {
			t.Fatal(err)
		}
		p, err := rtcp.Unmarshal(read[:k])
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p...)
	}
	return pkts
}

// reportFeedbackAndPLI is a compound RTCP packet as receivers send them: a
// receiver report, rec's feedback, a keyframe request.
func reportFeedbackAndPLI(t *testing.T, rec *twcc.Recorder) []byte {
	t.Helper()
	var compound []byte
	for _, p := range append([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}}, append(rec.BuildFeedbackPacket(), &rtcp.PictureLossIndication{MediaSSRC: 3})...) {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		compound = append(compound, b...)
	}
	return compound
}
