package mediaserver

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A real pion subscriber on loopback, negotiated as the server's
// connections are: it accepts RTX, NACKs a packet it never got, and gets
// it through the retransmission stream, put back by pion under the
// original's number with the original's payload; the transport-wide
// feedback on the retransmission and on RTX padding sent after the last
// media, which pion addresses to the RTX stream, reaches the estimator,
// which counts every packet sent as received.
func TestARealSubscriberGetsItsNACKedPacketThroughRTX(t *testing.T) {
	srv, est := loopbackSubscriberConnection(t)
	ft := newFanoutTrack(vp8, "v", "s", nil)
	sender, err := srv.AddTrack(ft)
	if err != nil {
		t.Fatal(err)
	}
	var resent, nacked atomic.Int64
	go func() { // as readRTCP does
		buf := make([]byte, 1500)
		for {
			n, _, err := sender.Read(buf)
			if err != nil {
				return
			}
			pkts, _ := rtcp.Unmarshal(buf[:n])
			for _, p := range pkts {
				if nack, ok := p.(*rtcp.TransportLayerNack); ok {
					nacked.Add(1)
					ft.resend(nack, func(int) bool { resent.Add(1); return true }, 0)
				}
			}
		}
	}()

	client := realSubscriber(t)
	type got struct {
		p   *rtp.Packet
		rtx bool
	}
	packets := make(chan got, 1000)
	client.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, a, err := tr.ReadRTP()
			if err != nil {
				return
			}
			packets <- got{p, a != nil && a.Get(webrtc.AttributeRtxSsrc) != nil}
		}
	})
	negotiate(t, srv, client)
	if sdp := srv.LocalDescription().SDP; !strings.Contains(sdp, "a=ssrc-group:FID") {
		t.Fatalf("the offer pairs no RTX stream with the video:\n%s", sdp)
	}
	if !eventually(10*time.Second, func() bool { return srv.ConnectionState() == webrtc.PeerConnectionStateConnected }) {
		t.Fatal("not connected")
	}
	b := ft.bindings[0]
	if b.rtx.ssrc == 0 || b.rtx.ssrc != uint32(sender.GetParameters().Encodings[0].RTX.SSRC) {
		t.Fatalf("bound RTX SSRC %d; pion's is %d", b.rtx.ssrc, sender.GetParameters().Encodings[0].RTX.SSRC)
	}
	b.ready.Store(true)

	// 100 packets, 10 ms apart; the 20th is kept for retransmission but
	// not forwarded, as if the link lost it.
	const lost = 20
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	payload := func(seq uint16) []byte { return []byte{0x10, 0x01, 0, byte(seq), byte(seq >> 8), 0xaa} }
	for seq := uint16(1); seq <= 100; seq++ {
		<-tick.C
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: payload(seq)}
		if seq == lost {
			kept := keptPayloadsOf(ft.exts, &p.Header)
			ft.layers[0].history.add(p, &kept)
			continue
		}
		ft.writeRTP(0, p)
	}
	deadline := time.After(10 * time.Second)
	for found := false; !found; {
		select {
		case g := <-packets:
			if g.p.SequenceNumber != lost {
				continue
			}
			if !g.rtx || !bytes.Equal(g.p.Payload, payload(lost)) || g.p.PayloadType != 96 || g.p.SSRC != b.ssrc {
				t.Fatalf("packet %d came back as %v (through RTX: %v)", lost, g.p, g.rtx)
			}
			found = true
		case <-deadline:
			t.Fatalf("packet %d never came back (%d NACKs, %d packets resent)", lost, nacked.Load(), resent.Load())
		}
	}

	// Padding on RTX after the last media (the last packets resent, then
	// padding alone): the feedback on it is addressed to the RTX stream.
	padded := 0
	for range 10 {
		<-tick.C
		n, _ := b.pad(2 * paddingSize)
		padded += n
	}
	sent := int64(ft.sentPackets.Load()) + resent.Load() + int64(padded)
	if !eventually(5*time.Second, func() bool { return est.Stats().Received >= sent }) {
		t.Fatalf("the estimator heard of %d packets received of %d sent (%d padding on RTX)", est.Stats().Received, sent, padded)
	}
}

// realSubscriber is a pion peer as the Go subscribers are: pion's default
// codecs (RTX with them) and interceptors (NACKs, transport-wide feedback).
func realSubscriber(t *testing.T) *webrtc.PeerConnection { return realPeer(t) }

// realPeer is a pion peer as the Go peers are, with first's interceptors
// nearest the wire, below pion's default ones.
func realPeer(t *testing.T, first ...interceptor.Factory) *webrtc.PeerConnection {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	for _, f := range first {
		ir.Add(f)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	client, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// negotiate has srv offer and client answer, each with its candidates.
func negotiate(t *testing.T, srv, client *webrtc.PeerConnection) {
	t.Helper()
	offer, err := srv.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(srv)
	if err := srv.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := client.SetRemoteDescription(*srv.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := client.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	cdone := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-cdone
	if err := srv.SetRemoteDescription(*client.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}

// eventually polls f until it holds or within has passed.
func eventually(within time.Duration, f func() bool) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	end := time.After(within)
	for !f() {
		select {
		case <-t.C:
		case <-end:
			return f()
		}
	}
	return true
}
