package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// lobbyEvent waits for an admin's lobby update and returns who is waiting.
func lobbyEvent(t *testing.T, admin *signal.Client, want int) []signal.PeerInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m := nextEvent(admin, signal.TypeLobby, time.Until(deadline))
		if m != nil && len(m.Peers) == want {
			return m.Peers
		}
	}
	t.Fatalf("the admin never saw %d waiting", want)
	return nil
}

func TestLobbyAdmitsDeniesAndShowsNothingBeforehand(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	owner, stranger := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	if a := owner.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private","enableRequestToJoin":true}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	admin := owner.mustJoin("board", joinOpts{token: owner.mintToken(`{"roomName":"board","isAdmin":true,"name":"Ada"}`)})
	publishAV(t, admin)
	member := owner.mustJoin("board", joinOpts{token: owner.mintToken(`{"roomName":"board","name":"Mel"}`)})
	memberHears := receive(member)
	if !memberHears.hears(5, admin.ID()) {
		t.Fatal("the member does not receive the admin")
	}

	// No token: into the lobby, seeing nobody.
	knocker := stranger.mustJoin("board", joinOpts{name: "Kim"})
	if !knocker.InLobby() || len(knocker.Welcome.Peers) != 0 || knocker.Welcome.Locked != nil {
		t.Fatalf("a lobby peer was welcomed with %+v", knocker.Welcome)
	}
	waiting := lobbyEvent(t, admin, 1)
	if waiting[0].ID != knocker.ID() || waiting[0].Name != "Kim" {
		t.Fatalf("lobby shows %+v", waiting)
	}
	// The participants API lists who is in the room, not who waits.
	var people []map[string]any
	if a := owner.apiCall("GET", "/api/v1/room/board/participants", ""); json.Unmarshal(a.body, &people) != nil || len(people) != 2 {
		t.Fatalf("participants with one waiting: %s", a.body)
	}

	// What a lobby peer sends goes nowhere: an offer is refused and no answer comes.
	knockerHears := receive(knocker)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := publishWithin(ctx, t, knocker)
	cancel()
	if err == nil {
		t.Fatal("a lobby peer's offer was answered")
	}
	if e := nextEvent(knocker, signal.TypeError, 5*time.Second); e == nil || e.Code != "not_admitted" {
		t.Fatalf("a lobby peer's offer: %+v", e)
	}
	for _, kind := range []string{"kick", "lock", "end", "admit"} {
		knocker.SendRaw([]byte(`{"type":"` + kind + `","target":"x","locked":true}`))
		if e := nextEvent(knocker, signal.TypeError, 5*time.Second); e == nil || e.Code != "not_admitted" {
			t.Fatalf("a lobby peer's %s: %+v", kind, e)
		}
	}
	// Nobody of that id is waiting.
	admin.Admit("nobody")
	if e := nextEvent(admin, signal.TypeError, 5*time.Second); e == nil || e.Code != "no_such_peer" {
		t.Fatalf("admitting nobody: %+v", e)
	}
	// A member who is no admin cannot let anyone in.
	member.Send(signal.Message{Type: signal.TypeAdmit, Target: knocker.ID()})
	if e := nextEvent(member, signal.TypeError, 5*time.Second); e == nil || e.Code != "forbidden" {
		t.Fatalf("a guest's admit: %+v", e)
	}

	// The admin lets Kim in: the lobby connection ends with a pass, and
	// with it Kim joins as a guest and receives the admin.
	if err := admin.Admit(knocker.ID()); err != nil {
		t.Fatal(err)
	}
	pass, err := decision(knocker)
	if err != nil || pass == "" {
		t.Fatalf("waiting for admission: %q %v", pass, err)
	}
	if n := len(knockerHears.publishers()); n != 0 {
		t.Fatalf("the lobby peer received media from %d peers", n)
	}
	if memberHears.count(knocker.ID(), "audio")+memberHears.count(knocker.ID(), "video") != 0 {
		t.Fatal("the lobby peer's media reached the room")
	}
	lobbyEvent(t, admin, 0)
	kim := stranger.mustJoin("board", joinOpts{token: pass})
	if kim.Welcome.Peer.Role != "guest" || kim.Welcome.Peer.Name != "Kim" {
		t.Fatalf("admitted peer welcomed as %+v", kim.Welcome.Peer)
	}
	if !receive(kim).hears(5, admin.ID()) {
		t.Fatal("the admitted peer does not receive the admin")
	}

	// A second knocker is turned away and closed.
	denied := stranger.mustJoin("board", joinOpts{name: "Dee"})
	lobbyEvent(t, admin, 1)
	admin.Deny(denied.ID())
	if _, err = decision(denied); !errors.Is(err, signal.ErrDenied) {
		t.Fatalf("denied knocker: %v", err)
	}
	select {
	case <-denied.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the denied connection stayed open")
	}

	// Turned away, they do not knock again at once.
	var refused *signal.ErrRefused
	if _, err := stranger.join("board", joinOpts{name: "Dee"}); !errors.As(err, &refused) || refused.Code != "banned" {
		t.Fatalf("knocking again right after being turned away: %v", err)
	}

	// In a locked room, someone an admin lets in still gets in; the lock
	// keeps out only those nobody admitted.
	admin.Lock(true)
	nextEvent(member, signal.TypeRoom, 5*time.Second)
	other := s.person(t, "127.0.0.6")
	late := other.mustJoin("board", joinOpts{name: "Lou"})
	lobbyEvent(t, admin, 1)
	admin.Admit(late.ID())
	if pass, err = decision(late); err != nil {
		t.Fatal(err)
	}
	other.mustJoin("board", joinOpts{token: pass})
	if _, err := stranger.join("board", joinOpts{token: owner.mintToken(`{"roomName":"board"}`)}); err == nil {
		t.Fatal("a token holder nobody admitted entered the locked room")
	}
}

// decision waits for an admin's word on a lobby client.
func decision(c *signal.Client) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.WaitAdmission(ctx)
}

// publishWithin tries to publish a track within ctx.
func publishWithin(ctx context.Context, t *testing.T, c *signal.Client) error {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "cam")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(ctx, track)
	return err
}

func TestPrivateRoomWithoutRequestsRefusesAndLobbyHasALimit(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey, "")
	p := s.person(t, "127.0.0.2")
	p.apiCall("POST", "/api/v1/room", `{"roomName":"shut","privacy":"private"}`)
	if a := p.refusedSignal("shut", signalOpts{}, http.StatusForbidden); a.errorCode() != "private_room" {
		t.Fatalf("private room without requests: %s", a.body)
	}
	p.apiCall("POST", "/api/v1/room", `{"roomName":"door","privacy":"private","enableRequestToJoin":true}`)
	// One address holds at most 3 places in lobbies.
	for range 3 {
		p.mustSignal("door", signalOpts{})
	}
	if a := p.refusedSignal("door", signalOpts{}, http.StatusTooManyRequests); a.errorCode() != "too_many_connections" {
		t.Fatalf("a fourth knock from one address: %s", a.body)
	}
	// 47 more people fill the lobby's 50 places; the next is told it is full.
	for i := range 47 {
		k := s.person(t, fmt.Sprintf("127.0.2.%d", i+1))
		if s := k.mustSignal("door", signalOpts{}); s.hello.Role != "lobby" {
			t.Fatalf("knocker %d admitted as %q", i, s.hello.Role)
		}
	}
	if a := s.person(t, "127.0.3.1").refusedSignal("door", signalOpts{}, http.StatusServiceUnavailable); a.errorCode() != "lobby_full" {
		t.Fatalf("the 51st knocker: %s", a.body)
	}
	// Waiting people do not fill the room: a token holder still gets in.
	if s := p.mustSignal("door", signalOpts{token: p.mintToken(`{"roomName":"door"}`)}); s.hello.Role != "guest" {
		t.Fatalf("token holder with a full lobby: %q", s.hello.Role)
	}
}

// A knock nobody answers is told so after lobby_wait; one address cannot
// keep knocking (five, then one every 30 s).
func TestKnocksWaitABoundedTimeAndAreLimited(t *testing.T) {
	t.Parallel()
	s := newMediaSiteWith(t, "api_key "+apiKey, "lobby_wait 2s")
	p := s.person(t, "127.0.0.2")
	p.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private","enableRequestToJoin":true}`)
	knocker := p.mustJoin("board", joinOpts{name: "Kim"})
	if !knocker.InLobby() {
		t.Fatal("the knocker is not in the lobby")
	}
	if m := nextEvent(knocker, signal.TypeBye, 10*time.Second); m == nil || m.Reason != signal.ByeUnanswered {
		t.Fatalf("a knock nobody answered: %+v", m)
	}
	for range 4 {
		p.mustJoin("board", joinOpts{}).Close()
	}
	_, err := p.join("board", joinOpts{})
	var refused *signal.ErrRefused
	if !errors.As(err, &refused) || refused.Status != http.StatusTooManyRequests || refused.Code != "too_many_knocks" {
		t.Fatalf("a sixth knock at once from one address: %v", err)
	}
	// Another address knocks.
	s.person(t, "127.0.0.3").mustJoin("board", joinOpts{})
}
