package mediaserver

import (
	"bytes"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

const transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// A retransmission carries the kept header extensions (the audio level, the
// video orientation) under the subscriber's ids, byte for byte as the
// packet first went to that subscriber, and nothing of the publisher's hop.
func TestResendCarriesTheForwardedHeaderExtensions(t *testing.T) {
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	for _, c := range []struct {
		name  string
		codec webrtc.RTPCodecCapability
		kind  webrtc.RTPCodecType
		uri   string
		value []byte
	}{
		{"audio level", opus, webrtc.RTPCodecTypeAudio, sdp.AudioLevelURI, []byte{0x80 | 30}}, // voice at -30 dBov
		{"video orientation", vp8, webrtc.RTPCodecTypeVideo, videoOrientationURI, []byte{1}},  // rotated by 90°
	} {
		t.Run(c.name, func(t *testing.T) {
			ft := newFanoutTrack(c.codec, "t", "p~s", nil)
			ft.exts = publisherExtensions(c.kind, []webrtc.RTPHeaderExtensionParameter{
				{URI: transportCCURI, ID: 2}, {URI: c.uri, ID: 4},
			})
			sub := &fakeBinding{id: "a", ssrc: 1, got: []rtp.Header{},
				codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: c.codec, PayloadType: 100}},
				exts:   []webrtc.RTPHeaderExtensionParameter{{URI: c.uri, ID: 9}, {URI: transportCCURI, ID: 4}}}
			if _, err := ft.Bind(sub); err != nil {
				t.Fatal(err)
			}
			ft.bindings[0].ready.Store(true)

			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 500, Timestamp: 9000, Marker: true},
				Payload: []byte{0x10, 0, 0x9d, 0x01, 0x2a}}
			p.Header.SetExtension(2, []byte{0, 7}) // the publisher's transport-wide number
			p.Header.SetExtension(4, c.value)
			ft.writeRTP(0, p)
			if len(sub.got) != 1 {
				t.Fatalf("forwarded %d packets", len(sub.got))
			}
			forwarded, err := sub.got[0].Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if v := sub.got[0].GetExtension(9); !bytes.Equal(v, c.value) {
				t.Fatalf("forwarded under the subscriber's id 9: %v", v)
			}

			ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1, Nacks: []rtcp.NackPair{{PacketID: 500}}}, always, 0)
			if len(sub.got) != 2 {
				t.Fatalf("resent %d packets", len(sub.got)-1)
			}
			h := sub.got[1]
			if v := h.GetExtension(9); !bytes.Equal(v, c.value) {
				t.Fatalf("the retransmission carries %v under the subscriber's id 9, not %v (extension %v, %+v)", v, c.value, h.Extension, h.Extensions)
			}
			if v := h.GetExtension(4); v != nil {
				t.Fatalf("id 4, the subscriber's transport-wide number, carries the publisher's extension: %v", v)
			}
			if v := h.GetExtension(2); v != nil {
				t.Fatalf("the publisher's transport-wide number was resent: %v", v)
			}
			resent, err := h.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resent, forwarded) {
				t.Fatalf("the retransmission's header differs from the forwarded one:\n%x\n%x", resent, forwarded)
			}
		})
	}
}

// A packet without the kept extensions is resent without them; the
// extensions of an earlier packet resent before it are not carried over.
func TestResendOfAPacketWithoutExtensionsCarriesNone(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	ft.exts = publisherExtensions(webrtc.RTPCodecTypeVideo, []webrtc.RTPHeaderExtensionParameter{{URI: videoOrientationURI, ID: 4}})
	sub := &fakeBinding{id: "a", ssrc: 1, got: []rtp.Header{},
		codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: vp8, PayloadType: 96}},
		exts:   []webrtc.RTPHeaderExtensionParameter{{URI: videoOrientationURI, ID: 9}}}
	if _, err := ft.Bind(sub); err != nil {
		t.Fatal(err)
	}
	ft.bindings[0].ready.Store(true)
	with := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1}, Payload: []byte{0x10, 0}}
	with.Header.SetExtension(4, []byte{3})
	ft.writeRTP(0, with)
	ft.writeRTP(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 2}, Payload: []byte{0, 0}})
	// The recorded headers' extension payloads point into the binding's
	// buffers, as pion's would until it marshals: each is checked before the
	// next retransmission.
	ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1, Nacks: []rtcp.NackPair{{PacketID: 1}}}, always, 0)
	if len(sub.got) != 3 {
		t.Fatalf("got %d packets", len(sub.got))
	}
	if v := sub.got[2].GetExtension(9); !bytes.Equal(v, []byte{3}) {
		t.Fatalf("packet 1 resent with %v", v)
	}
	ft.resend(&rtcp.TransportLayerNack{MediaSSRC: 1, Nacks: []rtcp.NackPair{{PacketID: 2}}}, always, 0)
	if len(sub.got) != 4 {
		t.Fatalf("got %d packets", len(sub.got))
	}
	if g := sub.got[3]; g.Extension || len(g.Extensions) != 0 {
		t.Fatalf("packet 2, sent without extensions, resent with %+v", g)
	}
}

// Forwarding and resending packets that carry kept extensions allocates
// nothing.
func TestResendWithExtensionsAllocatesNothing(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", nil)
	ft.exts = publisherExtensions(webrtc.RTPCodecTypeVideo, []webrtc.RTPHeaderExtensionParameter{
		{URI: transportCCURI, ID: 2}, {URI: videoOrientationURI, ID: 4},
	})
	var subs []*fakeBinding
	for i := range 20 {
		sub := &fakeBinding{id: string(rune('a' + i)), ssrc: webrtc.SSRC(1000 + i),
			codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: vp8, PayloadType: 96}},
			exts:   []webrtc.RTPHeaderExtensionParameter{{URI: videoOrientationURI, ID: 5 + i%8}}}
		if _, err := ft.Bind(sub); err != nil {
			t.Fatal(err)
		}
		ft.bindings[i].ready.Store(true)
		subs = append(subs, sub)
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 1000)}
	p.Header.SetExtension(2, []byte{0, 7})
	p.Header.SetExtension(4, []byte{1})
	nack := &rtcp.TransportLayerNack{MediaSSRC: uint32(subs[3].ssrc), Nacks: []rtcp.NackPair{{}}}
	if n := testing.AllocsPerRun(1000, func() {
		p.SequenceNumber++
		ft.writeRTP(0, p)
		nack.Nacks[0].PacketID = p.SequenceNumber
		ft.resend(nack, always, 0)
	}); n != 0 {
		t.Fatalf("%v allocations per packet to 20 subscribers and one retransmission", n)
	}
}
