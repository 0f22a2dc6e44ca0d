package gateway

import (
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
	st := NewState(nil)
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
		r := httptest.NewRequest("GET", "/ws?room=standup&name=Ada", nil)
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Origin", "http://example.com")
		r.Host = "example.com"
		r.Header.Set("Sec-WebSocket-Protocol", "roomgate, "+SubprotocolTokenPrefix+tok)
		g.ServeHTTP(w, r, next)
	}
	if admitted != b.N {
		b.Fatalf("admitted %d of %d", admitted, b.N)
	}
}
