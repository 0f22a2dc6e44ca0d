package mediaserver

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A publisher's packet lost on the way is asked for a few times, and its
// repair (on the RTX stream, as browsers send theirs) reaches the server.
// pion's NACK generator never sees a repair that comes on the RTX stream:
// it asked for every lost packet each 100 ms until 512 newer ones had come
// (25 times at 200 packets a second, some 150 at a browser's lowest
// layer's 30), and a browser spent the uplink its top layer needed on
// retransmissions.
func TestAPublishersLostPacketIsAskedForAFewTimesAndItsRepairArrives(t *testing.T) {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	api, err := publishAPI(se)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	var mu sync.Mutex
	arrived := map[uint16]int{}
	srv.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			mu.Lock()
			arrived[p.SequenceNumber]++
			mu.Unlock()
		}
	})

	// The publisher loses the first sending of these packets on the wire:
	// its NACK responder keeps them, and repairs them on RTX.
	lost := map[uint16]bool{1100: true, 1250: true}
	pub := realPeer(t, &lossFactory{lost: lost})
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pub.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	nacked := map[uint16]int{}
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			mu.Lock()
			for _, n := range nacksIn(pkts) {
				nacked[n]++
			}
			mu.Unlock()
		}
	}()
	negotiate(t, pub, srv)

	// 700 packets at 200 a second: the lost ones leave pion's 512-packet
	// window 2.5 s after they were lost.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(1000); seq < 1700; seq++ {
		<-tick.C
		if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 450, Marker: true},
			Payload: []byte{0x10, 0x01, 0xaa, byte(seq)}}); err != nil {
			t.Fatal(err)
		}
	}
	// The last NACK round of the window's end, and its answers.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if arrived[1099] == 0 || arrived[1699] == 0 {
		t.Fatalf("the server did not receive the packets around the lost ones: %d, %d", arrived[1099], arrived[1699])
	}
	for seq := range lost {
		if arrived[seq] == 0 {
			t.Errorf("packet %d, lost on the way, was never repaired (asked for %d times)", seq, nacked[seq])
		}
		if n := nacked[seq]; n == 0 || n > publisherNacksPerPacket {
			t.Errorf("packet %d was asked for %d times, want 1 to %d", seq, n, publisherNacksPerPacket)
		}
	}
}

type lossFactory struct{ lost map[uint16]bool }

func (f *lossFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &lossInterceptor{lost: f.lost, gone: map[uint16]bool{}}, nil
}

// lossInterceptor, nearest the wire, below the NACK responder (which
// keeps what it is given before the loss), drops the first sending of each lost packet of a
// stream's own SSRC; its repairs, on the RTX SSRC, pass.
type lossInterceptor struct {
	interceptor.NoOp
	mu   sync.Mutex
	lost map[uint16]bool
	gone map[uint16]bool
}

func (l *lossInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		l.mu.Lock()
		drop := h.SSRC == info.SSRC && l.lost[h.SequenceNumber] && !l.gone[h.SequenceNumber]
		if drop {
			l.gone[h.SequenceNumber] = true
		}
		l.mu.Unlock()
		if drop {
			return h.MarshalSize() + len(payload), nil
		}
		return w.Write(h, payload, a)
	})
}

// nacksIn lists the sequence numbers pkts ask for, once per asking.
func nacksIn(pkts []rtcp.Packet) []uint16 {
	var seqs []uint16
	for _, p := range pkts {
		if n, ok := p.(*rtcp.TransportLayerNack); ok {
			for _, pair := range n.Nacks {
				seqs = append(seqs, pair.PacketList()...)
			}
		}
	}
	return seqs
}
