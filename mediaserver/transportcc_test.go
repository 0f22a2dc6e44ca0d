package mediaserver

import (
	"encoding/binary"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// Every packet to a subscriber gets the next transport-wide number under
// the negotiated id, whatever it is (media, a retransmission, padding), and
// the feedback on them is read and taken out of the RTCP pion parses next.
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
	var compound []byte
	for _, p := range append([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}}, append(rec.BuildFeedbackPacket(), &rtcp.PictureLossIndication{MediaSSRC: 3})...) {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		compound = append(compound, b...)
	}
	r := tc.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, compound), a, nil
	}))
	buf := make([]byte, 1500)
	n, _, err := r.Read(buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(buf[:n])
	if err != nil || len(pkts) != 2 {
		t.Fatalf("left for pion: %v, %v", pkts, err)
	}
	if _, ok := pkts[1].(*rtcp.PictureLossIndication); !ok {
		t.Fatalf("left for pion: %v", pkts)
	}
	if st := tc.est.Stats(); st.Feedbacks != 1 || st.Received != 3 || st.Lost != 1 {
		t.Fatalf("the estimator read %+v", st)
	}
	if received, lost := fb.counts(); received != 3 || lost != 1 {
		t.Fatalf("the count says %d received, %d lost", received, lost)
	}

	// A read that held only feedback is followed by the next: pion's
	// interceptors after this one take an empty read for an error, and
	// the sender's reading loop would end on it (it did: the estimator
	// then heard one feedback packet per subscriber, ever).
	rec.Record(2, 2, 20_000)
	only, err := rec.BuildFeedbackPacket()[0].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rr, _ := (&rtcp.ReceiverReport{SSRC: 9}).Marshal()
	reads := [][]byte{only, rr}
	r = tc.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		next := reads[0]
		reads = reads[1:]
		return copy(b, next), a, nil
	}))
	if n, _, err = r.Read(buf, nil); err != nil || n != len(rr) {
		t.Fatalf("a read of feedback alone gave %d bytes, %v; want the receiver report after it", n, err)
	}
	if st := tc.est.Stats(); st.Feedbacks != 2 {
		t.Fatalf("the estimator read %d feedback packets", st.Feedbacks)
	}
}
