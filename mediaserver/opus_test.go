package mediaserver

import (
	"strings"
	"testing"
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
