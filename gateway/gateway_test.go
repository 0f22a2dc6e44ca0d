package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"golang.org/x/crypto/bcrypt"
)

var secret = accesstoken.Secret(strings.Repeat("s", 32))

// rig is a gateway on a fake clock with a fake upstream that holds every
// admitted connection open until the test hangs it up.
type rig struct {
	t       *testing.T
	clock   *clockwork.FakeClock
	st      *State
	g       *Gateway
	ended   chan string // reasons of ended sessions
	pwHash  []byte
	upgrade chan *upstreamCall
}

type upstreamCall struct {
	adm    *accesstoken.Admission
	ctx    context.Context
	hangup chan struct{}
	done   chan struct{}
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Unix(1_800_000_000, 0))
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	r := &rig{t: t, clock: clock, st: NewState(clock, Sharing{}), ended: make(chan string, 64), pwHash: hash, upgrade: make(chan *upstreamCall, 1)}
	r.st.sessionEnded = func(reason string) { r.ended <- reason }
	if cfg.Users == nil {
		cfg.Users = []User{{Name: "alice", Hash: hash}}
	}
	cfg.ClientIP = func(req *http.Request) netip.Addr {
		ap, _ := netip.ParseAddrPort(req.RemoteAddr)
		return ap.Addr()
	}
	g, err := New(cfg, secret, r.st)
	if err != nil {
		t.Fatal(err)
	}
	r.g = g
	return r
}

func (r *rig) login(from string) string { return r.loginAs("alice", from) }

// join runs one signalling request; it returns the upstream call when the
// person was admitted, or the refusal's status.
func (r *rig) join(from, room, token string, more ...func(*http.Request)) (*upstreamCall, int) {
	r.t.Helper()
	req := httptest.NewRequest("GET", "/ws?"+url.Values{"room": {room}}.Encode(), nil)
	req.RemoteAddr = from + ":5000"
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, f := range more {
		f(req)
	}
	w := httptest.NewRecorder()
	finished := make(chan struct{})
	next := func(w http.ResponseWriter, req *http.Request) error {
		adm, err := accesstoken.NewAdmissions(secret, r.clock.Now).Verify(req.Header.Get(accesstoken.AdmissionHeader))
		if err != nil {
			r.t.Errorf("upstream got a bad admission: %v", err)
			return nil
		}
		w.WriteHeader(http.StatusSwitchingProtocols)
		c := &upstreamCall{adm: adm, ctx: req.Context(), hangup: make(chan struct{}), done: finished}
		r.upgrade <- c
		select {
		case <-c.hangup:
		case <-req.Context().Done():
		}
		return nil
	}
	go func() {
		r.g.ServeHTTP(w, req, next)
		close(finished)
	}()
	select {
	case c := <-r.upgrade:
		return c, http.StatusSwitchingProtocols
	case <-finished:
		return nil, w.Code
	}
}

// leave hangs up an admitted connection and waits until the gateway saw it.
func (c *upstreamCall) leave() {
	close(c.hangup)
	<-c.done
}

// cut reports whether the gateway ended the connection within a second.
func (c *upstreamCall) cut() bool {
	select {
	case <-c.ctx.Done():
		<-c.done
		return true
	case <-time.After(time.Second):
		return false
	}
}

func (r *rig) waitEnded(want string) {
	r.t.Helper()
	select {
	case got := <-r.ended:
		if got != want {
			r.t.Fatalf("session ended because %q; want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		r.t.Fatalf("no session ended (want %q)", want)
	}
}

func TestGraceKeepsTheRoomOpenThenEndsTheSession(t *testing.T) {
	r := newRig(t, Config{HostProtected: true, HostGrace: 30 * time.Second})
	tok := r.login("127.0.0.1")
	if _, code := r.join("127.0.0.2", "standup", ""); code != http.StatusForbidden {
		t.Fatalf("guest before the host: %d", code)
	}
	host, _ := r.join("127.0.0.1", "standup", tok)
	if host == nil || host.adm.Role != accesstoken.PeerHost {
		t.Fatal("host not admitted as host")
	}
	host.leave()
	r.clock.Advance(29 * time.Second)
	if g, code := r.join("127.0.0.2", "standup", ""); g == nil {
		t.Fatalf("guest within the grace: %d", code)
	} else {
		g.leave()
	}
	if _, err := r.st.shared.Session(context.Background(), mustVerify(t, r, tok).ID); err != nil {
		t.Fatalf("the host's login ended within the grace: %v", err)
	}
	r.clock.Advance(2 * time.Second)
	r.waitEnded("host left")
	if _, code := r.join("127.0.0.2", "standup", ""); code != http.StatusForbidden {
		t.Fatalf("guest after the grace: %d", code)
	}
	if _, code := r.join("127.0.0.1", "standup", tok); code != http.StatusUnauthorized {
		t.Fatalf("the ended session's token: %d", code)
	}
}

func TestHostReturningWithinGraceKeepsTheSession(t *testing.T) {
	r := newRig(t, Config{HostProtected: true, HostGrace: 30 * time.Second})
	tok := r.login("127.0.0.1")
	h, _ := r.join("127.0.0.1", "standup", tok)
	h.leave()
	r.clock.Advance(20 * time.Second)
	h, _ = r.join("127.0.0.1", "standup", tok)
	if h == nil {
		t.Fatal("host could not come back within the grace")
	}
	r.clock.Advance(time.Hour - time.Minute)
	select {
	case reason := <-r.ended:
		t.Fatalf("session ended (%s) while the host was in the room", reason)
	default:
	}
	if g, _ := r.join("127.0.0.2", "standup", ""); g == nil {
		t.Fatal("guest refused while the host is in the room")
	}
}

func TestLoginExpiringDuringACallKeepsTheHostUntilTheyLeave(t *testing.T) {
	r := newRig(t, Config{HostProtected: true, TokenTTL: time.Minute, HostGrace: 30 * time.Second})
	tok := r.login("127.0.0.1")
	h, _ := r.join("127.0.0.1", "standup", tok)
	r.clock.Advance(2 * time.Minute)
	if h.cut() {
		t.Fatal("the host was cut off when the login expired")
	}
	h.leave()
	r.waitEnded("login expired")
}

func TestLogoutCutsTheHostsConnectionsOnly(t *testing.T) {
	r := newRig(t, Config{HostProtected: true})
	tok := r.login("127.0.0.1")
	h1, _ := r.join("127.0.0.1", "standup", tok)
	h2, _ := r.join("127.0.0.1", "retro", tok)
	g, _ := r.join("127.0.0.2", "standup", "")
	r.g.state.endSession(context.Background(), mustVerify(t, r, tok).ID, "logged out")
	r.waitEnded("logged out")
	if !h1.cut() || !h2.cut() {
		t.Fatal("the host's connections stayed open after logout")
	}
	if g.cut() {
		t.Fatal("a guest's connection was cut by the host's logout")
	}
}

func TestEjectionDeadlineCutsThePeer(t *testing.T) {
	r := newRig(t, Config{})
	tok, _, err := accesstoken.NewIssuer(secret, r.clock.Now).Mint(accesstoken.Claims{
		Role: accesstoken.RolePeer, Room: "standup", EjectAfter: 3,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(r.clock.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.join("127.0.0.2", "standup", tok)
	if !p.adm.EjectAt().Equal(r.clock.Now().Add(3 * time.Second)) {
		t.Fatalf("admission says eject at %v", p.adm.EjectAt())
	}
	r.clock.Advance(3*time.Second + ejectBackstop - time.Millisecond)
	if p.cut() {
		t.Fatal("cut before the deadline and its backstop")
	}
	r.clock.Advance(time.Millisecond)
	if !p.cut() {
		t.Fatal("not cut at the backstop")
	}
}

// ejectAfterElapsedTimeInSec is time in rooms, across joins (Daily's
// "maximum seconds in the call"): coming back does not start it again, and
// the time away does not count.
func TestEjectionCountsTimeInTheRoomAcrossJoins(t *testing.T) {
	r := newRig(t, Config{})
	tok, _, err := accesstoken.NewIssuer(secret, r.clock.Now).Mint(accesstoken.Claims{
		Role: accesstoken.RolePeer, Room: "standup", EjectAfter: 60,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(r.clock.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.join("127.0.0.2", "standup", tok)
	if left := p.adm.EjectAt().Sub(r.clock.Now()); left != time.Minute {
		t.Fatalf("first join: %v left", left)
	}
	r.clock.Advance(20 * time.Second)
	p.leave()
	// Away for ten minutes, then back: 40 s left, not 60, not none.
	r.clock.Advance(10 * time.Minute)
	p, _ = r.join("127.0.0.2", "standup", tok)
	if left := p.adm.EjectAt().Sub(r.clock.Now()); left != 40*time.Second {
		t.Fatalf("back after time away: %v left, want 40s", left)
	}
	r.clock.Advance(40 * time.Second)
	p.leave()
	// The minute is used up: the token opens nothing.
	if _, code := r.join("127.0.0.2", "standup", tok); code != http.StatusForbidden {
		t.Fatalf("with its minute used up: %d", code)
	}
}

func TestSeventeenthLoginEndsTheOldest(t *testing.T) {
	r := newRig(t, Config{})
	first := r.login("127.0.0.1")
	for range hostlogin.MaxSessionsPerUser {
		r.login("127.0.0.1")
	}
	r.waitEnded("replaced by a newer login")
	if _, code := r.join("127.0.0.1", "standup", first); code != http.StatusUnauthorized {
		t.Fatalf("oldest login still works: %d", code)
	}
}

func TestFailedLoginsRefillOverTime(t *testing.T) {
	r := newRig(t, Config{})
	try := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(`{"username":"alice","password":"nope"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "127.0.0.9:1"
		w := httptest.NewRecorder()
		r.g.ServeHTTP(w, req, nil)
		return w
	}
	for i := range hostlogin.AddrFailures {
		if w := try(); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	w := try()
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "6" {
		t.Fatalf("over the limit: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	r.clock.Advance(hostlogin.AddrRefill)
	if w := try(); w.Code != http.StatusUnauthorized {
		t.Fatalf("after a refill: %d", w.Code)
	}
	if w := try(); w.Code != http.StatusTooManyRequests {
		t.Fatalf("refill allowed more than one attempt: %d", w.Code)
	}
}

// A stranger guessing alice's password cannot lock alice out: her own
// addresses are never held up, and new ones only after many failures from
// several addresses.
func TestGuessingAUsersPasswordDoesNotLockTheUserOut(t *testing.T) {
	r := newRig(t, Config{})
	try := func(from, pw string) int {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(`{"username":"alice","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = from + ":1"
		w := httptest.NewRecorder()
		r.g.ServeHTTP(w, req, nil)
		return w.Code
	}
	if code := try("127.0.0.1", "pw"); code != http.StatusOK {
		t.Fatalf("alice at home: %d", code)
	}
	for i := range hostlogin.AddrFailures {
		if code := try("127.0.0.9", "nope"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	// The guesser's address is held up; alice is not, at home or elsewhere.
	if code := try("127.0.0.9", "pw"); code != http.StatusTooManyRequests {
		t.Fatalf("the guesser's address after 10 failures: %d", code)
	}
	if code := try("127.0.0.1", "pw"); code != http.StatusOK {
		t.Fatalf("alice at home after a stranger's 10 guesses: %d", code)
	}
	if code := try("127.0.0.2", "pw"); code != http.StatusOK {
		t.Fatalf("alice from a new address after a stranger's 10 guesses: %d", code)
	}
	// Guesses from many addresses: new addresses wait, known ones do not.
	for i := range hostlogin.UserFailures - hostlogin.AddrFailures {
		try(fmt.Sprintf("127.0.1.%d", i/hostlogin.AddrFailures+1), "nope")
	}
	if code := try("127.0.0.30", "pw"); code != http.StatusTooManyRequests {
		t.Fatalf("a new address after %d guesses from several: %d", hostlogin.UserFailures, code)
	}
	for _, home := range []string{"127.0.0.1", "127.0.0.2"} {
		if code := try(home, "pw"); code != http.StatusOK {
			t.Fatalf("alice from %s, where she logged in before: %d", home, code)
		}
	}
}

func mustVerify(t *testing.T, r *rig, tok string) *accesstoken.Claims {
	c, err := r.g.issuer.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
