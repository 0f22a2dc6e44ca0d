package signal

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeAcceptsEachClientMessage(t *testing.T) {
	for _, s := range []string{
		`{"type":"offer","pc":"pub","sdp":"v=0"}`,
		`{"type":"offer","pc":"pub","sdp":"v=0","screens":["{9f2c}","desk"]}`,
		`{"type":"answer","pc":"sub","sdp":"v=0"}`,
		`{"type":"candidate","pc":"pub","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host"}}`,
		`{"type":"kick","target":"abc"}`,
		`{"type":"lock","locked":false}`,
		`{"type":"end"}`,
		`{"type":"ping","extra":"ignored"}`,
		`{"type":"view","views":[{"stream":"p~s","width":320,"height":180},{"stream":"p~t","width":0,"height":0}]}`,
		`{"type":"state","muted":true}`,
		`{"type":"state","hand":false,"cameraOff":true}`,
		`{"type":"chat","text":"<b>hi</b>"}`,
		`{"type":"mute","target":"abc"}`,
	} {
		if _, err := Decode([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, s := range []string{
		``, `null`, `[]`, `"offer"`, `{}`, `{"type":""}`, `{"type":"launch"}`,
		`{"type":"offer","sdp":"v=0"}`, `{"type":"offer","pc":"both","sdp":"v=0"}`, `{"type":"offer","pc":"pub"}`,
		`{"type":"candidate","pc":"pub"}`, `{"type":"kick"}`, `{"type":"lock"}`,
		`{"type":"offer","pc":"pub","sdp":5}`, "{\"type\":\"ping\",\"x\":\"\xff\"}",
		`{"type":"offer","pc":"pub","sdp":"v=0","screens":["a","b","c","d","e"]}`,
		`{"type":"offer","pc":"pub","sdp":"v=0","screens":[""]}`,
		`{"type":"offer","pc":"pub","sdp":"v=0","screens":["` + strings.Repeat("s", 65) + `"]}`,
		`{"type":"offer","pc":"pub","sdp":"v=0","screens":"desk"}`,
		`{"type":"view","views":[{"stream":"","width":1,"height":1}]}`,
		`{"type":"view","views":[{"stream":"p~s","width":-1,"height":1}]}`,
		`{"type":"view","views":[{"stream":"p~s","width":16385,"height":1}]}`,
		`{"type":"view","views":[{"stream":"` + strings.Repeat("s", 201) + `","width":1,"height":1}]}`,
		`{"type":"view","views":[` + strings.Repeat(`{"stream":"a","width":1,"height":1},`, MaxViews) + `{"stream":"a","width":1,"height":1}]}`,
		`{"type":"state"}`, `{"type":"state","muted":"yes"}`,
		`{"type":"chat"}`, `{"type":"chat","text":"   "}`, `{"type":"chat","text":"` + strings.Repeat("x", MaxChatBytes+1) + `"}`,
		`{"type":"mute"}`, `{"type":"mute","target":"a","ban":{}}`,
	} {
		if m, err := Decode([]byte(s)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %+v, %v", s, m, err)
		}
	}
	if _, err := Decode([]byte(`{"type":"offer","pc":"pub","sdp":"` + strings.Repeat("a", MaxMessageBytes) + `"}`)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"offer","pc":"pub","sdp":"v=0"}`))
	f.Add([]byte(`{"type":"candidate","pc":"sub","candidate":{"candidate":"x","sdpMid":"0"}}`))
	f.Add([]byte(`{"type":"lock","locked":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever Decode accepts must satisfy the rules it promises.
		if m.check() != nil || len(b) > MaxMessageBytes {
			t.Fatalf("accepted an invalid message: %q", b)
		}
		if (m.Type == TypeOffer || m.Type == TypeAnswer) && m.SDP == "" {
			t.Fatalf("negotiation without sdp: %q", b)
		}
	})
}

func TestStreamIDsCarryThePeerAndTheScreenMark(t *testing.T) {
	for _, c := range []struct {
		id     string
		peer   string
		screen bool
	}{
		{StreamID("p1", "{9f2c}", false), "p1", false},
		{StreamID("p1", "{9f2c}", true), "p1", true},
		{StreamID("p1", "screen", false), "p1", false},  // a stream merely named so
		{StreamID("p1", "screen~x", false), "p1", true}, // is the publisher's own label
		{"p1", "p1", false},
	} {
		if PeerOfStream(c.id) != c.peer || IsScreen(c.id) != c.screen {
			t.Errorf("%q: peer %q, screen %v; want %q, %v", c.id, PeerOfStream(c.id), IsScreen(c.id), c.peer, c.screen)
		}
	}
}
