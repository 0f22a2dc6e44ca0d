package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/gateway/hostlogin"
	"golang.org/x/crypto/bcrypt"
)

// invite asks POST /invitation for room from addr with the host cookie
// tok (none when ""), as the room page's Copy link does.
func (r *rig) invite(addr, room, tok, origin string) (string, int) {
	r.t.Helper()
	req := httptest.NewRequest("POST", "/invitation", strings.NewReader(`{"room":"`+room+`"}`))
	req.RemoteAddr = addr + ":5000"
	req.Host = "example.com"
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if tok != "" {
		req.AddCookie(&http.Cookie{Name: hostlogin.CookieName, Value: tok})
	}
	w := httptest.NewRecorder()
	r.g.ServeHTTP(w, req, nil)
	var a struct{ Link string }
	json.Unmarshal(w.Body.Bytes(), &a)
	return a.Link, w.Code
}

func (r *rig) loginAs(user, from string) string {
	r.t.Helper()
	req := httptest.NewRequest("POST", "/login", strings.NewReader(`{"username":"`+user+`","password":"pw"}`))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = from + ":5000"
	w := httptest.NewRecorder()
	r.g.ServeHTTP(w, req, nil)
	var a struct{ Token string }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &a) != nil {
		r.t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return a.Token
}

func TestAnInvitationIsAHostsToMakeForTheirRooms(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	r := newRig(t, Config{UserAuth: true, InvitationUses: 3, InvitationTTL: 2 * time.Hour,
		Users: []User{{Name: "alice", Hash: hash}, {Name: "bob", Hash: hash, Rooms: []string{"retro"}}}})
	const origin = "http://example.com"
	alice := r.loginAs("alice", "127.0.0.1")
	link, code := r.invite("127.0.0.1", "standup", alice, origin)
	if code != http.StatusOK || !strings.HasPrefix(link, "/join/standup#peer_token=") {
		t.Fatalf("alice's invitation: %d %q", code, link)
	}
	frag, _ := url.ParseQuery(link[strings.Index(link, "#")+1:])
	c := mustVerify(t, r, frag.Get("peer_token"))
	if c.Room != "standup" || c.Admin || c.Global || c.MaxUses != 3 || c.ExpiresAt.Sub(r.clock.Now()) != 2*time.Hour {
		t.Fatalf("the invitation's claims: %+v", c)
	}
	// Its guest gets in, as with any invitation, as often as it says.
	for i := range 3 {
		call, status := r.join("127.0.0.5", "standup", frag.Get("peer_token"))
		if call == nil {
			t.Fatalf("use %d refused: %d", i+1, status)
		}
		call.leave()
	}
	if _, status := r.join("127.0.0.5", "standup", frag.Get("peer_token")); status != http.StatusForbidden {
		t.Fatalf("a fourth use: %d", status)
	}

	for _, c := range []struct {
		who, addr, room, tok, origin string
		want                         int
	}{
		{"nobody logged in", "127.0.0.1", "standup", "", origin, http.StatusUnauthorized},
		{"the host's cookie from another address", "127.0.0.9", "standup", alice, origin, http.StatusForbidden},
		{"another site's page", "127.0.0.1", "standup", alice, "http://evil.example", http.StatusForbidden},
		{"the cookie without a page's Origin", "127.0.0.1", "standup", alice, "", http.StatusUnauthorized},
		{"bob, for a room not his", "127.0.0.2", "standup", r.loginAs("bob", "127.0.0.2"), origin, http.StatusForbidden},
		{"a bad room name", "127.0.0.1", "no/such", alice, origin, http.StatusBadRequest},
	} {
		if _, code := r.invite(c.addr, c.room, c.tok, c.origin); code != c.want {
			t.Errorf("%s: %d, want %d", c.who, code, c.want)
		}
	}
}
