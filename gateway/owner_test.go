package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

// ownerPass asks POST /owner-pass for room, as the start page does.
func (r *rig) ownerPass(room string) (string, int) {
	r.t.Helper()
	req := httptest.NewRequest("POST", "/owner-pass", strings.NewReader(`{"room":"`+room+`"}`))
	req.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	r.g.ServeHTTP(w, req, nil)
	var a struct{ Pass string }
	json.Unmarshal(w.Body.Bytes(), &a)
	return a.Pass, w.Code
}

func withOwnerPass(pass string) func(*http.Request) {
	return func(req *http.Request) {
		req.Header.Set("Sec-WebSocket-Protocol", "roomgate, "+accesstoken.SubprotocolOwnerPrefix+pass)
	}
}

// Who may own a room is the gateway's word to the media server: a guest
// without credentials on an open site, in a room not made through the API.
func TestOnlyAnOpenSitesGuestsMayOwnARoom(t *testing.T) {
	open := newRig(t, Config{})
	pass, code := open.ownerPass("standup")
	if code != http.StatusOK || pass == "" {
		t.Fatalf("an open site gave no owner pass: %d", code)
	}
	c, _ := open.join("127.0.0.2", "standup", "", withOwnerPass(pass))
	if c == nil || !c.adm.MayOwn || c.adm.OwnerPassMillis == 0 {
		t.Fatalf("an open site's guest with a pass: %+v", c.adm)
	}
	c.leave()
	// A pass for another room counts for nothing.
	c, _ = open.join("127.0.0.2", "retro", "", withOwnerPass(pass))
	if !c.adm.MayOwn || c.adm.OwnerPassMillis != 0 {
		t.Fatalf("a pass for standup counted in retro: %+v", c.adm)
	}
	c.leave()
	// A host (by login) or a token's bearer is what their credential says.
	c, _ = open.join("127.0.0.1", "standup", open.login("127.0.0.1"), withOwnerPass(pass))
	if c == nil || c.adm.MayOwn || c.adm.OwnerPassMillis != 0 || c.adm.Role != accesstoken.PeerHost {
		t.Fatalf("a host: %+v", c.adm)
	}
	c.leave()
	tok, _, err := open.g.issuer.Mint(accesstoken.Claims{Role: accesstoken.RolePeer, Room: "standup",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(open.clock.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = open.join("127.0.0.3", "standup", tok, withOwnerPass(pass))
	if c == nil || c.adm.MayOwn || c.adm.OwnerPassMillis != 0 {
		t.Fatalf("a token's guest: %+v", c.adm)
	}
	c.leave()
	// A room made through the API is run with the admin tokens its maker hands out.
	if err := open.st.shared.CreateRoom(context.Background(), "board", []byte(`{"roomName":"board","privacy":"public"}`), time.Time{}); err != nil {
		t.Fatal(err)
	}
	c, _ = open.join("127.0.0.2", "board", "")
	if c == nil || c.adm.MayOwn {
		t.Fatalf("a guest of an API room: %+v", c.adm)
	}
	c.leave()

	if _, code := newRig(t, Config{UserAuth: true}).ownerPass("standup"); code != http.StatusNotFound {
		t.Fatalf("a user_auth site gave an owner pass: %d", code)
	}
	req := httptest.NewRequest("GET", "/owner-pass", nil)
	w := httptest.NewRecorder()
	open.g.ServeHTTP(w, req, nil)
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /owner-pass: %d", w.Code)
	}
	req = httptest.NewRequest("POST", "/owner-pass", strings.NewReader(`{"room":"standup"}`))
	req.Header.Set("Origin", "http://evil.example")
	w = httptest.NewRecorder()
	open.g.ServeHTTP(w, req, nil)
	if w.Code != http.StatusForbidden {
		t.Fatalf("another site's page asking for a pass: %d", w.Code)
	}
	hp := newRig(t, Config{HostProtected: true})
	if _, code := hp.ownerPass("standup"); code != http.StatusNotFound {
		t.Fatalf("a host_protected site gave an owner pass: %d", code)
	}
	host, _ := hp.join("127.0.0.1", "standup", hp.login("127.0.0.1"))
	defer host.leave()
	c, _ = hp.join("127.0.0.2", "standup", "", withOwnerPass(pass))
	if c == nil || c.adm.MayOwn || c.adm.OwnerPassMillis != 0 {
		t.Fatalf("a host_protected site's guest: %+v", c.adm)
	}
	c.leave()
}

// An owner pass expires, and a bad one, or one another key signed, counts
// for nothing.
func TestAnOwnerPassIsShortLivedAndSigned(t *testing.T) {
	r := newRig(t, Config{})
	pass, _ := r.ownerPass("standup")
	other := accesstoken.NewAdmissions(accesstoken.Secret(strings.Repeat("o", 32)), r.clock.Now)
	forged, _, _ := other.MintOwnerPass("standup")
	if r.g.ownerPassIssued(forged, "standup") != 0 {
		t.Fatal("a pass signed with another key counted")
	}
	rejoin, _, _ := r.g.admissions.MintRejoin("standup", "")
	if r.g.ownerPassIssued(rejoin, "standup") != 0 {
		t.Fatal("a rejoin pass counted as an owner pass")
	}
	if r.g.ownerPassIssued(pass, "standup") == 0 {
		t.Fatal("a good pass did not count")
	}
	r.clock.Advance(accesstoken.OwnerPassTTL + accesstoken.Leeway + time.Second)
	if r.g.ownerPassIssued(pass, "standup") != 0 {
		t.Fatal("an expired pass counted")
	}
}
