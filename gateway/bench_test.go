package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

// BenchmarkAdmission measures the whole decision at the signalling path for
// a guest with a room token: parsing, token verification, room rules,
// registration, minting the admission and rewriting the headers.
func BenchmarkAdmission(b *testing.B) {
	st := NewState(nil, Sharing{})
	g, err := New(Config{UserAuth: true, Users: []User{{Name: "alice", Hash: []byte("$2a$04$FXBPchSO6DzdTb8Mq7oIreOr51uAyBhE1l1SBrcC9n.mjcVSYtuFu")}},
		ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr("127.0.0.2") }}, secret, st)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := g.issuer.Mint(accesstoken.Claims{Role: accesstoken.RolePeer, Room: "standup",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	if err != nil {
		b.Fatal(err)
	}
	admitted := 0
	next := func(w http.ResponseWriter, r *http.Request) error { admitted++; return nil }
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		g.ServeHTTP(w, upgradeRequest("standup", tok), next)
	}
	if admitted != b.N {
		b.Fatalf("admitted %d of %d", admitted, b.N)
	}
}

// BenchmarkAdmissionToAFullishRoom is a guest's admission to a room with a
// participant limit, while 5,000 people are connected to other rooms: what
// counting the room's participants costs when the gateway is busy.
func BenchmarkAdmissionToAFullishRoom(b *testing.B) {
	st := NewState(nil, Sharing{})
	g, err := New(Config{ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr("127.0.0.2") },
		MaxConnsPerAddress: -1}, secret, st)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.shared.CreateRoom(context.Background(), "big", []byte(`{"roomName":"big","privacy":"public","maxParticipants":1048576}`), time.Time{}); err != nil {
		b.Fatal(err)
	}
	st.mu.Lock()
	for range 5000 {
		st.trackLocked(&liveConn{room: "other", cancel: func() {}}, time.Time{})
	}
	st.mu.Unlock()
	tok, _, err := g.issuer.Mint(accesstoken.Claims{Role: accesstoken.RolePeer, Room: "big",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	if err != nil {
		b.Fatal(err)
	}
	admitted := 0
	next := func(w http.ResponseWriter, r *http.Request) error {
		admitted++
		st.release(w.(*upgradeWatcher).conn, 0) // the guest leaves: the room stays as it was
		return nil
	}
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		g.ServeHTTP(w, upgradeRequest("big", tok), next)
	}
	if admitted != b.N {
		b.Fatalf("admitted %d of %d", admitted, b.N)
	}
}

// upgradeRequest is a browser's signalling upgrade to room with tok.
func upgradeRequest(room, tok string) *http.Request {
	r := httptest.NewRequest("GET", "/ws?room="+room+"&name=Ada", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Origin", "http://example.com")
	r.Host = "example.com"
	r.Header.Set("Sec-WebSocket-Protocol", "roomgate, "+SubprotocolTokenPrefix+tok)
	return r
}
