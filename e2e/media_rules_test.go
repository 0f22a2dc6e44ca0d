package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

func TestRoomsAreIsolated(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	x1 := s.person(t, "127.0.0.1").mustJoin("x", joinOpts{})
	x2 := s.person(t, "127.0.0.2").mustJoin("x", joinOpts{})
	y1 := s.person(t, "127.0.0.3").mustJoin("y", joinOpts{})
	y2 := s.person(t, "127.0.0.4").mustJoin("y", joinOpts{})
	rs := map[*signal.Client]*receiver{}
	for _, c := range []*signal.Client{x1, x2, y1, y2} {
		rs[c] = receive(c)
		publishAV(t, c)
	}
	for c, mate := range map[*signal.Client]*signal.Client{x1: x2, x2: x1, y1: y2, y2: y1} {
		if !rs[c].hears(50, mate.ID()) {
			t.Fatalf("%s does not hear its roommate", c.ID())
		}
		if got := rs[c].publishers(); len(got) != 1 || got[0] != mate.ID() {
			t.Fatalf("%s received packets from %v; only %s shares its room", c.ID(), got, mate.ID())
		}
	}
}

// dialMediaServer opens a signalling WebSocket straight to the media server,
// past the gateway, with the given admission header.
func dialMediaServer(t testing.TB, s *mediaSite, room, admission string) (*websocket.Conn, int) {
	t.Helper()
	h := http.Header{}
	if admission != "" {
		h.Set(accesstoken.AdmissionHeader, admission)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/ws?room=%s", s.signalPort, room),
		&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"roomgate"}})
	if err != nil {
		if resp == nil {
			t.Fatal(err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols
}

func TestMediaServerRefusesAnythingButAFreshAdmission(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	mint := func(secret string, at time.Time, room string) string {
		a, err := accesstoken.NewAdmissions(accesstoken.Secret(secret), func() time.Time { return at }).Mint(accesstoken.Admission{
			Room: room, Role: accesstoken.PeerHost, Name: "Mallory", RegisteredClaims: jwt.RegisteredClaims{Subject: "m1"}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	now := time.Now()
	for name, adm := range map[string]string{
		"no admission":     "",
		"forged":           mint(strings.Repeat("f", 32), now, "standup"),
		"expired":          mint(testSecret, now.Add(-time.Minute), "standup"),
		"for another room": mint(testSecret, now, "retro"),
		"a peer token":     mintPeer(t, accesstoken.Claims{Room: "standup"}),
		"garbage":          "garbage",
	} {
		if _, st := dialMediaServer(t, s, "standup", adm); st != http.StatusUnauthorized {
			t.Errorf("%s: %d; want 401", name, st)
		}
	}
	// A valid admission works once; a replay of it does not.
	valid := mint(testSecret, now, "standup")
	if _, st := dialMediaServer(t, s, "standup", valid); st != http.StatusSwitchingProtocols {
		t.Fatalf("a fresh admission: %d", st)
	}
	if _, st := dialMediaServer(t, s, "standup", valid); st != http.StatusUnauthorized {
		t.Fatalf("a replayed admission: %d", st)
	}
}

func TestAdminsKickLockAndEndGuestsCannot(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	hostP := s.person(t, "127.0.0.1")
	host := hostP.mustJoin("standup", joinOpts{token: hostP.mustLogin("alice", password)})
	if host.Welcome.Peer.Role != "host" {
		t.Fatalf("host joined as %q", host.Welcome.Peer.Role)
	}
	g1 := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Gus"})
	g2 := s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{name: "Gil"})

	// A guest may do none of it, and the room stays as it was.
	for _, send := range []func() error{func() error { return g1.Kick(g2.ID()) }, func() error { return g1.Lock(true) }, g1.End} {
		if err := send(); err != nil {
			t.Fatal(err)
		}
		if m := nextEvent(g1, signal.TypeError, 5*time.Second); m == nil || m.Code != "forbidden" {
			t.Fatalf("guest's admin action: %+v", m)
		}
	}
	select {
	case <-g2.Done():
		t.Fatal("a guest's kick removed someone")
	case <-host.Done():
		t.Fatal("a guest's end closed the host")
	default:
	}
	if _, err := s.person(t, "127.0.0.4").join("standup", joinOpts{}); err != nil {
		t.Fatalf("a guest's lock locked the room: %v", err)
	}

	// The host kicks Gil.
	host.Kick(g2.ID())
	if m := nextEvent(g2, signal.TypeBye, 5*time.Second); m == nil || m.Reason != signal.ByeKicked {
		t.Fatalf("kicked guest was told %+v", m)
	}
	<-g2.Done()
	if m := nextEvent(host, signal.TypePeerLeft, 5*time.Second); m == nil {
		t.Fatal("the host was not told the kicked guest left")
	}

	// The host locks: new guests are refused, the host is not.
	host.Lock(true)
	if m := nextEvent(g1, signal.TypeRoom, 5*time.Second); m == nil || m.Locked == nil || !*m.Locked {
		t.Fatalf("room event after lock: %+v", m)
	}
	_, err := s.person(t, "127.0.0.5").join("standup", joinOpts{})
	var refused *signal.ErrRefused
	if !errors.As(err, &refused) || refused.Code != "room_locked" || refused.Msg == "" {
		t.Fatalf("a new guest in a locked room: %v", err)
	}
	host.Lock(false)
	nextEvent(g1, signal.TypeRoom, 5*time.Second)
	g3 := s.person(t, "127.0.0.5").mustJoin("standup", joinOpts{})

	// The host ends the meeting: everyone is told and closed.
	host.End()
	for _, c := range []*signal.Client{g1, g3, host} {
		if m := nextEvent(c, signal.TypeBye, 5*time.Second); m == nil || m.Reason != signal.ByeEnded {
			t.Fatalf("%s at the end: %+v", c.ID(), m)
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not closed at the end", c.ID())
		}
	}

	// Ended stays ended: a guest, with or without a token, cannot open the
	// room again; the host can, and then guests come in.
	for name, o := range map[string]joinOpts{"a guest": {}, "a token holder": {token: mintPeer(t, accesstoken.Claims{Room: "standup"})}} {
		_, err := s.person(t, "127.0.0.5").join("standup", o)
		if !errors.As(err, &refused) || refused.Code != "room_ended" {
			t.Fatalf("%s after the end: %v", name, err)
		}
	}
	// The gateway's check says so too, before anyone presses Join (the
	// page shows it before its pre-join screen); to a host it says come in.
	check := func(p *person, bearer string) answer {
		h := http.Header{}
		if bearer != "" {
			h.Set("Authorization", "Bearer "+bearer)
		}
		return p.do("GET", "/ws?room=standup", "", nil, h)
	}
	for name, tok := range map[string]string{"a guest": "", "a token holder": mintPeer(t, accesstoken.Claims{Room: "standup"})} {
		if a := check(s.person(t, "127.0.0.5"), tok); a.status != http.StatusForbidden || a.errorCode() != "room_ended" {
			t.Fatalf("the check for %s after the end: %d %s", name, a.status, a.body)
		}
	}
	hostTok := hostP.mustLogin("alice", password)
	if a := check(hostP, hostTok); a.status != http.StatusOK {
		t.Fatalf("the check for the host after the end: %d %s", a.status, a.body)
	}
	host = hostP.mustJoin("standup", joinOpts{token: hostTok})
	if a := check(s.person(t, "127.0.0.5"), ""); a.status != http.StatusOK {
		t.Fatalf("the check for a guest once the host opened the room again: %d %s", a.status, a.body)
	}
	s.person(t, "127.0.0.5").mustJoin("standup", joinOpts{})
}

func TestEjectionRemovesThePeerAtItsDeadline(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	for _, room := range []string{"after", "expiry"} {
		t.Run(room, func(t *testing.T) {
			t.Parallel()
			pub := s.person(t, "127.0.0.1").mustJoin(room, joinOpts{})
			publishAV(t, pub)
			start := time.Now()
			deadline := start.Add(3 * time.Second)
			c := accesstoken.Claims{Room: room, EjectAfter: 3}
			if room == "expiry" {
				// ejectAtTokenExp: out when the token expires, 5 s from now
				// to the second (a JWT's times are whole seconds).
				exp := jwt.NewNumericDate(start.Add(5 * time.Second))
				deadline = exp.Time
				c = accesstoken.Claims{Room: room, EjectAtExpiry: true, RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: exp}}
			}
			ej := s.person(t, "127.0.0.2").mustJoin(room, joinOpts{token: mintPeer(t, c)})
			r := receive(ej)
			if !r.hears(10, pub.ID()) {
				t.Fatal("the peer received nothing before its deadline")
			}
			m := nextEvent(ej, signal.TypeBye, 10*time.Second)
			if m == nil || m.Reason != signal.ByeEjected {
				t.Fatalf("at the deadline: %+v", m)
			}
			if off := time.Since(deadline); off < -500*time.Millisecond || off > 1500*time.Millisecond {
				t.Fatalf("ejected %v from the deadline; want about on it", off)
			}
			<-ej.Done()
			// After its bye the peer receives nothing more: its media connections close.
			if !r.waitFor(5*time.Second, func() bool { return r.trackEnded(pub.ID(), "video") }) {
				t.Fatal("the ejected peer's tracks did not end")
			}
			after := r.count(pub.ID(), "video")
			if r.waitFor(time.Second, func() bool { return r.count(pub.ID(), "video") > after }) {
				t.Fatal("the ejected peer still receives media")
			}
		})
	}
}

func TestBadSignallingMessagesLeaveTheRoomIntact(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	pub := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{})
	publishAV(t, pub)
	bad := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{})
	r := receive(bad)
	if !r.hears(10, pub.ID()) {
		t.Fatal("no media before the bad messages")
	}
	for _, tc := range []struct {
		msg  string
		code string
	}{
		{"not json", "bad_message"},
		{`{"type":"launch"}`, "bad_message"},
		{`{"type":"offer","pc":"pub"}`, "bad_message"},
		{`{"type":"ping","pad":"` + strings.Repeat("x", 100<<10) + `"}`, "bad_message"},
		{`{"type":"answer","pc":"sub","sdp":"v=0\r\n"}`, "out_of_order"},
		{`{"type":"offer","pc":"sub","sdp":"v=0\r\n"}`, "out_of_order"},
		{`{"type":"answer","pc":"pub","sdp":"v=0\r\n"}`, "out_of_order"},
		{`{"type":"offer","pc":"pub","sdp":"this is not sdp"}`, "bad_sdp"},
		{`{"type":"kick","target":"nobody"}`, "forbidden"},
	} {
		if err := bad.SendRaw([]byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		if m := nextEvent(bad, signal.TypeError, 5*time.Second); m == nil || m.Code != tc.code {
			t.Fatalf("%.40s: %+v; want error %s", tc.msg, m, tc.code)
		}
	}
	// The sender, the publisher and newcomers carry on.
	before := r.count(pub.ID(), "video")
	if !r.waitFor(5*time.Second, func() bool { return r.count(pub.ID(), "video") > before+20 }) {
		t.Fatal("media stopped after the bad messages")
	}
	late := receive(s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{}))
	if !late.hears(10, pub.ID()) {
		t.Fatal("a newcomer gets nothing after the bad messages")
	}
}

func TestAFullRoomRefusesTheNextPeer(t *testing.T) {
	t.Parallel()
	s := newMediaSiteWith(t, "", "max_peers_per_room 2")
	s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{})
	s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{})
	_, err := s.person(t, "127.0.0.3").join("standup", joinOpts{})
	var refused *signal.ErrRefused
	if !errors.As(err, &refused) || refused.Code != "room_full" || refused.Msg == "" {
		t.Fatalf("the third peer: %v", err)
	}
	// Another room is not full.
	s.person(t, "127.0.0.3").mustJoin("retro", joinOpts{})
}

func TestTooManyTracksAndMessagesAreRefused(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	c := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{})
	// An offer with seven audio sections, one more than a peer may publish.
	for range 7 {
		if _, err := c.Pub.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := c.Pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Send(signal.Message{Type: signal.TypeOffer, PC: signal.PCPublish, SDP: offer.SDP})
	if m := nextEvent(c, signal.TypeError, 5*time.Second); m == nil || m.Code != "too_many_tracks" {
		t.Fatalf("seven tracks: %+v", m)
	}
	// A flood of messages: past the burst, the server says slow down, once,
	// and the connection lives on (answering each message of the flood
	// would have filled the peer's queue and dropped it unwarned).
	for range 600 {
		c.Send(signal.Message{Type: signal.TypePing})
	}
	if m := nextEvent(c, signal.TypeError, 5*time.Second); m == nil || m.Code != "too_many_messages" {
		t.Fatalf("a flood of pings: %+v", m)
	}
	// The flood's answers arrive; then the connection still answers.
	for quiet := false; !quiet; {
		select {
		case <-c.Events():
		case <-time.After(500 * time.Millisecond):
			quiet = true
		}
	}
	if !eventually(5*time.Second, func() bool {
		c.Send(signal.Message{Type: signal.TypePing})
		return nextEvent(c, signal.TypePong, 200*time.Millisecond) != nil
	}) {
		t.Fatalf("the connection did not outlive the flood (bye %+v)", c.Bye())
	}
}

// Peers that join at the same moment each get their welcome before any news
// of the others (a peer-joined first would break every client).
func TestConcurrentJoinsGetTheirWelcomeFirst(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	const n = 12
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.person(t, fmt.Sprintf("127.0.4.%d", i+1)).join("crowd", joinOpts{})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("a concurrent join: %v", err)
		}
	}
}

// Turning a camera off and on again, more times than a peer may publish
// tracks at once: a track that ended no longer counts, and the others get
// the camera every time.
func TestATrackPublishedAgainAndAgainStillReachesTheOthers(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	pub := s.person(t, "127.0.0.1").mustJoin("toggle", joinOpts{})
	r := receive(s.person(t, "127.0.0.2").mustJoin("toggle", joinOpts{}))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for i := range 8 {
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "cam")
		if err != nil {
			t.Fatal(err)
		}
		senders, err := pub.Publish(ctx, track)
		if err != nil {
			t.Fatal(err)
		}
		before := r.count(pub.ID(), "video")
		seq := uint16(i * 1000)
		if !eventually(10*time.Second, func() bool {
			seq++
			track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: []byte{0x10, 0x00, 0}})
			return r.count(pub.ID(), "video") > before
		}) {
			t.Fatalf("publish %d: the other peer receives nothing", i+1)
		}
		if err := pub.Unpublish(ctx, senders[0]); err != nil {
			t.Fatal(err)
		}
	}
	if m := nextEvent(pub, signal.TypeError, time.Second); m != nil {
		t.Fatalf("the server refused something: %+v", m)
	}
}
