package mediaserver

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// A real pion subscriber on loopback: the transport-wide feedback it sends
// on what the server's connection sent reaches the estimator, for as long
// as packets flow.
func TestEstimatorHearsARealSubscriber(t *testing.T) {
	srv, est := loopbackSubscriberConnection(t)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := srv.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // as readRTCP does
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	client := realSubscriber(t)
	got := make(chan struct{}, 1)
	client.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			select {
			case got <- struct{}{}:
			default:
			}
		}
	})
	negotiate(t, srv, client)
	for i := range 300 {
		track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000)}, Payload: make([]byte, 1000)})
		time.Sleep(10 * time.Millisecond)
	}
	st := est.Stats()
	t.Logf("%+v", st)
	if st.Feedbacks < 10 {
		t.Fatalf("the estimator read %d feedback packets in 3 s", st.Feedbacks)
	}
}

// loopbackSubscriberConnection is the server's side of a subscriber's
// connection, made as the server makes them, on loopback; closed when the
// test ends.
func loopbackSubscriberConnection(t *testing.T) (*webrtc.PeerConnection, *bwe.Estimator) {
	t.Helper()
	s, err := New(Config{
		Secret:  accesstoken.Secret(strings.Repeat("s", 32)),
		UDPPort: freeUDPPort(t),
		ICEIPs:  []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var fb feedbackCount
	srv, est, err := s.engine.newSubscriber(&fb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, est
}
