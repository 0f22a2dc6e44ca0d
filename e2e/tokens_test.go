package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

// mintPeer mints a peer token with the test secret, as the API will.
func mintPeer(t testing.TB, c accesstoken.Claims) string {
	t.Helper()
	if c.Role == "" {
		c.Role = accesstoken.RolePeer
	}
	if c.ExpiresAt == nil {
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	}
	tok, _, err := accesstoken.NewIssuer(accesstoken.Secret(testSecret), nil).Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestUserAuthNeedsCredentials(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "user_auth", "")
	alice, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")

	if a := guest.refusedSignal("standup", signalOpts{}, http.StatusUnauthorized); a.errorCode() != "credentials_required" {
		t.Fatalf("guest without credentials: %s", a.body)
	}
	g := guest.mustSignal("standup", signalOpts{token: mintPeer(t, accesstoken.Claims{Room: "standup", Name: "Tok"})})
	if g.hello.Role != "guest" || g.hello.Name != "Tok" {
		t.Fatalf("token holder admitted as %+v", g.hello)
	}
	adm := guest.mustSignal("standup", signalOpts{bearer: mintPeer(t, accesstoken.Claims{Global: true, Admin: true}), origin: "-"})
	if adm.hello.Role != "admin" {
		t.Fatalf("global admin token admitted as %+v", adm.hello)
	}
	if h := alice.mustSignal("standup", signalOpts{token: alice.mustLogin("alice", password)}); h.hello.Role != "host" || h.hello.Name != "alice" {
		t.Fatalf("logged-in user admitted as %+v", h.hello)
	}
	if !g.echoes() {
		t.Fatal("the admitted guest's connection does not carry messages")
	}
}

func TestUserRoomsLimitWhereTheyMayGo(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "user_auth", "")
	bob := s.person(t, "127.0.0.1")
	tok := bob.mustLogin("bob", password)
	if a := bob.refusedSignal("retro", signalOpts{token: tok}, http.StatusForbidden); a.errorCode() != "room_not_allowed" {
		t.Fatalf("bob in retro: %s", a.body)
	}
	if h := bob.mustSignal("standup", signalOpts{token: tok}); h.hello.Role != "host" {
		t.Fatalf("bob in standup: %+v", h.hello)
	}
}

func TestBadTokensAreRefused(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "user_auth", "")
	p := s.person(t, "127.0.0.2")
	key := accesstoken.Secret(testSecret).Key(accesstoken.PurposePeerToken)
	now := time.Now()
	claims := func() *accesstoken.Claims {
		return &accesstoken.Claims{Role: accesstoken.RolePeer, Room: "standup", RegisteredClaims: jwt.RegisteredClaims{
			ID: "x1", IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			Audience: jwt.ClaimStrings{"roomgate:peer"}}}
	}
	sign := func(m jwt.SigningMethod, k any, c *accesstoken.Claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	expired := claims()
	expired.IssuedAt, expired.ExpiresAt = jwt.NewNumericDate(now.Add(-2*time.Hour)), jwt.NewNumericDate(now.Add(-time.Hour))
	notYet := claims()
	notYet.NotBefore = jwt.NewNumericDate(now.Add(time.Hour))
	good := sign(jwt.SigningMethodHS256, key, claims())

	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"expired", sign(jwt.SigningMethodHS256, key, expired), 401},
		{"not yet valid", sign(jwt.SigningMethodHS256, key, notYet), 401},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims()), 401},
		{"HS384", sign(jwt.SigningMethodHS384, key, claims()), 401},
		{"RS256", sign(jwt.SigningMethodRS256, rsaKey, claims()), 401},
		{"bad signature", good[:strings.LastIndexByte(good, '.')+1] + strings.Repeat("A", 43), 401},
		{"other secret", sign(jwt.SigningMethodHS256, []byte(strings.Repeat("z", 32)), claims()), 401},
		{"another room", mintPeer(t, accesstoken.Claims{Room: "retro"}), 401},
		{"garbage", "garbage", 401},
		{"9 KiB", strings.Repeat("a", 9<<10), 413},
	}
	for _, tc := range cases {
		p.refusedSignal("standup", signalOpts{token: tc.token}, tc.status)
		p.refusedSignal("standup", signalOpts{bearer: tc.token, origin: "-"}, tc.status)
	}
	if len(s.upstream.requests()) != 0 {
		t.Fatalf("%d refused requests reached the upstream", len(s.upstream.requests()))
	}
	// Nothing broke: the good token still gets in.
	if g := p.mustSignal("standup", signalOpts{token: good}); g.hello.Role != "guest" {
		t.Fatalf("good token after the bad ones: %+v", g.hello)
	}
}

func TestEjectAfterCutsTheLiveConnection(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "", "")
	p := s.person(t, "127.0.0.2")
	start := time.Now()
	sig := p.mustSignal("standup", signalOpts{token: mintPeer(t, accesstoken.Claims{Room: "standup", EjectAfter: 2})})
	stay := p.mustSignal("standup", signalOpts{token: mintPeer(t, accesstoken.Claims{Room: "standup"})})
	// The upstream here removes nobody: the gateway's own cut says why.
	if err := sig.cutWith(15*time.Second, 4005, "time_up"); err != nil {
		t.Fatalf("the peer was not ejected: %v", err)
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Fatalf("ejected after %v, before its 2 s", took)
	}
	if !stay.echoes() {
		t.Fatal("a peer without a deadline lost its connection")
	}
}

func TestUsersJSONFromMiroTalkLogsIn(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "users_json `[{\"username\":\"carol\",\"password\":\"plain-Secret-77\",\"allowed_rooms\":[\"standup\"]}]`\n\t\tuser_auth", "")
	carol := s.person(t, "127.0.0.1")
	tok := carol.mustLogin("carol", "plain-Secret-77")
	carol.mustSignal("standup", signalOpts{token: tok})
	carol.refusedSignal("retro", signalOpts{token: tok}, http.StatusForbidden)
	logs := s.Logs()
	if !strings.Contains(logs, "plain passwords") || strings.Contains(logs, "plain-Secret-77") {
		t.Fatal("want a warning about plain passwords, without the password")
	}
}
