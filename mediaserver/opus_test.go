package mediaserver

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

const answerSDP = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 9\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;usedtx=0\r\n" +
	"a=rtpmap:9 G722/8000\r\na=fmtp:9 foo=1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=fmtp:96 x=1\r\n"

func TestAskOpusFECAndDTX(t *testing.T) {
	got := askOpusFECAndDTX(answerSDP)
	for _, want := range []string{
		"a=fmtp:111 minptime=10;usedtx=0;useinbandfec=1\r\n", // a publisher's own usedtx=0 stands
		"a=fmtp:9 foo=1\r\n", // not Opus
		"a=fmtp:96 x=1\r\n",  // not audio
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	if bad := "not an sdp"; askOpusFECAndDTX(bad) != bad {
		t.Error("an unreadable answer was changed")
	}
}

// The answer to a publisher carries Opus at the payload type the publisher
// offered, whatever Opus fmtp it offered, with in-band FEC and DTX asked for
// unless the offer set them itself. It is made by real negotiation: a pion
// offerer with an audio track of its own Opus fmtp (and the other codecs a
// browser offers), the server's publish API answering it, and the answer
// rewritten as answerPublish rewrites it.
func TestPublishAnswerKeepsOfferedOpus(t *testing.T) {
	for _, c := range []struct {
		name string
		pt   webrtc.PayloadType
		fmtp string
		want map[string]string // "" value: the key must be absent
	}{
		{"browser default", 111, "minptime=10;useinbandfec=1",
			map[string]string{"minptime": "10", "useinbandfec": "1", "usedtx": "1"}},
		{"usedtx=0", 111, "minptime=10;useinbandfec=1;usedtx=0",
			map[string]string{"minptime": "10", "useinbandfec": "1", "usedtx": "0"}},
		{"useinbandfec=0", 111, "minptime=10;useinbandfec=0",
			map[string]string{"minptime": "10", "useinbandfec": "0", "usedtx": "1"}},
		{"both off", 111, "useinbandfec=0;usedtx=0",
			map[string]string{"useinbandfec": "0", "usedtx": "0"}},
		{"other minptime", 111, "minptime=20;useinbandfec=1;usedtx=1",
			map[string]string{"minptime": "20", "useinbandfec": "1", "usedtx": "1"}},
		{"no fmtp", 111, "",
			map[string]string{"useinbandfec": "1", "usedtx": "1", "minptime": ""}},
		{"stereo at another payload type", 109, "stereo=1",
			map[string]string{"stereo": "1", "useinbandfec": "1", "usedtx": "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			answer := answerPublisher(t, c.pt, c.fmtp)
			got, ok := opusInAnswer(t, answer, c.pt)
			if !ok {
				t.Fatalf("the answer to Opus %d %q has no Opus at %d:\n%s", c.pt, c.fmtp, c.pt, answer)
			}
			for k, v := range c.want {
				if have, set := got[k]; v == "" && set || v != "" && have != v {
					t.Errorf("the answer to Opus %q has fmtp %v; want %s=%q", c.fmtp, got, k, v)
				}
			}
		})
	}
}

// answerPublisher is the answer a publisher offering one Opus track with
// fmtp at payload type pt (besides G722, PCMU and PCMA, as browsers offer)
// gets from the server.
func answerPublisher(t *testing.T, pt webrtc.PayloadType, fmtp string) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: fmtp}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: opus, PayloadType: pt},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000}, PayloadType: 9},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	publisher, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer publisher.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(opus, "mic", "stream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publisher.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	offer, err := publisher.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := publisher.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}

	api, err := publishAPI(se)
	if err != nil {
		t.Fatal(err)
	}
	server, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := server.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	return askOpusFECAndDTX(server.LocalDescription().SDP)
}

// opusInAnswer is the fmtp of Opus at payload type pt in the audio section
// of a description, if the section has Opus there.
func opusInAnswer(t *testing.T, desc string, pt webrtc.PayloadType) (map[string]string, bool) {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(desc); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || !slices.Contains(m.MediaName.Formats, strconv.Itoa(int(pt))) {
			continue
		}
		c, err := d.GetCodecForPayloadType(uint8(pt))
		if err != nil || !strings.EqualFold(c.Name, "opus") || c.ClockRate != 48000 || c.EncodingParameters != "2" {
			return nil, false
		}
		params := map[string]string{}
		if c.Fmtp != "" {
			for _, p := range strings.Split(c.Fmtp, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				params[strings.ToLower(k)] = v
			}
		}
		return params, true
	}
	return nil, false
}

// The connections subscribers receive on still offer Opus with FEC and DTX,
// and a browser's answer (pion's default codecs stand in for one) leaves
// Opus negotiated.
func TestSubscribeOffersOpusWithFECAndDTX(t *testing.T) {
	m, err := subscribeMedia()
	if err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	server, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "stream")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := server.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := server.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	got, ok := opusInAnswer(t, offer.SDP, 111)
	if !ok || got["useinbandfec"] != "1" || got["usedtx"] != "1" {
		t.Fatalf("the offer to a subscriber has Opus fmtp %v (found: %v):\n%s", got, ok, offer.SDP)
	}

	browser := &webrtc.MediaEngine{}
	if err := browser.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	subscriber, err := webrtc.NewAPI(webrtc.WithMediaEngine(browser), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer subscriber.Close()
	if err := subscriber.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := subscriber.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := subscriber.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if _, ok := opusInAnswer(t, answer.SDP, 111); !ok {
		t.Fatalf("the subscriber's answer has no Opus:\n%s", answer.SDP)
	}
	if err := server.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}
	codecs := sender.GetParameters().Codecs
	if len(codecs) == 0 || !strings.EqualFold(codecs[0].MimeType, webrtc.MimeTypeOpus) {
		t.Fatalf("the subscriber's connection sends %v, not Opus", codecs)
	}
}
