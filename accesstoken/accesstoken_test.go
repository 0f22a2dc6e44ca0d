package accesstoken

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var testSecret = Secret(bytes.Repeat([]byte("k"), 32))

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestNewSecretRefusesShort(t *testing.T) {
	if _, err := NewSecret(make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte secret was accepted")
	}
	if _, err := NewSecret(make([]byte, 32)); err != nil {
		t.Fatalf("a 32-byte secret was refused: %v", err)
	}
}

func TestKeysDifferPerPurposeAndAreStable(t *testing.T) {
	a, b, c := testSecret.Key(PurposePeerToken), testSecret.Key(PurposeAdmission), testSecret.Key(PurposeTURN)
	if bytes.Equal(a, b) || bytes.Equal(b, c) || bytes.Equal(a, c) {
		t.Fatal("two purposes share a key")
	}
	if !bytes.Equal(a, testSecret.Key(PurposePeerToken)) {
		t.Fatal("key derivation is not deterministic")
	}
	if bytes.Contains(a, testSecret) || strings.Contains(testSecret.ID(), string(testSecret)) {
		t.Fatal("derived material contains the secret")
	}
}

func peer(room string, exp time.Time) Claims {
	return Claims{Role: RolePeer, Room: room, RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}}
}

func TestMintVerifyRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss := NewIssuer(testSecret, fixedClock(now))
	c := peer("standup", now.Add(time.Hour))
	c.Admin, c.Name, c.Email, c.Meta, c.ExternalUserID = true, "Ada Lovelace", "ada@example.com", "m", "u-1"
	c.EjectAfter, c.EjectAtExpiry = 30, true
	tok, minted, err := iss.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if minted.ID == "" {
		t.Fatal("no jti was set")
	}
	got, err := iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Room != "standup" || !got.Admin || got.Name != "Ada Lovelace" || got.Email != "ada@example.com" ||
		got.ExternalUserID != "u-1" || got.EjectAfter != 30 || !got.EjectAtExpiry || got.ID != minted.ID {
		t.Fatalf("claims changed in transit: %+v", got)
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss := NewIssuer(testSecret, fixedClock(now))
	good := peer("standup", now.Add(time.Hour))

	mint := func(c Claims, at time.Time) string {
		t.Helper()
		tok, _, err := NewIssuer(testSecret, fixedClock(at)).Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// signRaw signs claims as given, bypassing Mint's checks, the way an attacker would.
	signRaw := func(m jwt.SigningMethod, key any, c jwt.Claims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	full := func(c Claims) *Claims {
		c.ID, c.IssuedAt, c.Audience = "id1", jwt.NewNumericDate(now), jwt.ClaimStrings{peerAudience}
		return &c
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key := testSecret.Key(PurposePeerToken)
	expired := good
	expired.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute))
	notYet := good
	notYet.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
	noExp := *full(good)
	noExp.ExpiresAt = nil
	noJTI := *full(good)
	noJTI.ID = ""
	longMeta := *full(good)
	longMeta.Meta = strings.Repeat("é", 1001)
	otherKey := NewIssuer(Secret(bytes.Repeat([]byte("x"), 32)), fixedClock(now))
	otherTok, _, _ := otherKey.Mint(good)
	goodTok := mint(good, now)
	tampered := goodTok[:len(goodTok)-2] + "AA"
	if tampered == goodTok {
		tampered = goodTok[:len(goodTok)-2] + "BB"
	}
	admissionKeyed := signRaw(jwt.SigningMethodHS256, testSecret.Key(PurposeAdmission), full(good))
	noIAT := *full(good)
	noIAT.IssuedAt = nil
	// signParts signs a header and payload written by hand.
	signParts := func(header, payload string) string { return signedParts(t, key, header, payload) }
	claimsJSON := func(exp, iat string) string {
		return fmt.Sprintf(`{"jti":"id1","aud":["%s"],"role":"peer","room":"standup","exp":%s,"iat":%s}`, peerAudience, exp, iat)
	}
	expNum, iatNum := fmt.Sprint(now.Add(time.Hour).Unix()), fmt.Sprint(now.Unix())
	handMade := signParts(`{"alg":"HS256","typ":"JWT"}`, claimsJSON(expNum, iatNum))

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"expired", mint(expired, now.Add(-2*time.Hour)), ErrExpired},
		{"not yet valid", mint(notYet, now), ErrNotYetValid},
		{"alg none", signRaw(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, full(good)), ErrSignature},
		{"HS384", signRaw(jwt.SigningMethodHS384, key, full(good)), ErrSignature},
		{"RS256", signRaw(jwt.SigningMethodRS256, rsaKey, full(good)), ErrSignature},
		{"other secret", otherTok, ErrSignature},
		{"admission key", admissionKeyed, ErrSignature},
		{"tampered signature", tampered, ErrSignature},
		{"no exp", signRaw(jwt.SigningMethodHS256, key, &noExp), ErrInvalid},
		{"no jti", signRaw(jwt.SigningMethodHS256, key, &noJTI), ErrInvalid},
		{"meta over 1000", signRaw(jwt.SigningMethodHS256, key, &longMeta), ErrInvalid},
		{"garbage", "not.a.token", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"9 KiB", strings.Repeat("a", 9<<10), ErrTooLarge},
		{"no iat", signRaw(jwt.SigningMethodHS256, key, &noIAT), ErrInvalid},
		{"crit header", signParts(`{"alg":"HS256","typ":"JWT","crit":["exp"]}`, claimsJSON(expNum, iatNum)), ErrInvalid},
		{"exp as a string", signParts(`{"alg":"HS256","typ":"JWT"}`, claimsJSON(`"`+expNum+`"`, iatNum)), ErrInvalid},
		{"iat as a string", signParts(`{"alg":"HS256","typ":"JWT"}`, claimsJSON(expNum, `"`+iatNum+`"`)), ErrInvalid},
	}
	// The hand-made token itself is good: the cases above differ from it in one thing each.
	if _, err := iss.Verify(handMade); err != nil {
		t.Fatalf("the hand-made control token: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := iss.Verify(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, %v; want error %v", c, err, tc.want)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Fatal("error message contains the token")
			}
		})
	}
}

func TestMintRefusesBadClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss := NewIssuer(testSecret, fixedClock(now))
	exp := now.Add(time.Hour)
	bad := map[string]Claims{
		"no expiry":       {Role: RolePeer, Room: "a"},
		"no room":         peer("", exp),
		"room and global": func() Claims { c := peer("a", exp); c.Global = true; return c }(),
		"bad room":        peer("a b", exp),
		"long room":       peer(strings.Repeat("a", 65), exp),
		"meta 1001":       func() Claims { c := peer("a", exp); c.Meta = strings.Repeat("m", 1001); return c }(),
		"control name":    func() Claims { c := peer("a", exp); c.Name = "a\x00b"; return c }(),
		"host with room":  {Role: RoleHost, Room: "a", RegisteredClaims: jwt.RegisteredClaims{Subject: "alice", ExpiresAt: jwt.NewNumericDate(exp)}},
		"unknown role":    {Role: "root", Global: true, RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}},
	}
	for name, c := range bad {
		if _, _, err := iss.Mint(c); err == nil {
			t.Errorf("%s: minted", name)
		}
	}
	ok := peer("a", exp)
	ok.Meta = strings.Repeat("é", 1000)
	if _, _, err := iss.Mint(ok); err != nil {
		t.Errorf("meta of 1000 characters refused: %v", err)
	}
}

func TestEjectAt(t *testing.T) {
	joined := time.Unix(1000, 0)
	c := peer("a", time.Unix(1100, 0))
	if !c.EjectAt(joined).IsZero() {
		t.Fatal("no eject rule but a deadline")
	}
	c.EjectAfter = 30
	if got := c.EjectAt(joined); !got.Equal(time.Unix(1030, 0)) {
		t.Fatalf("eject after 30 s = %v", got)
	}
	c.EjectAtExpiry = true
	c.EjectAfter = 300
	if got := c.EjectAt(joined); !got.Equal(time.Unix(1100, 0)) {
		t.Fatalf("expiry first = %v", got)
	}
}

func TestAdmissionRoundTripAndSeparation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	adm := NewAdmissions(testSecret, fixedClock(now))
	tok, err := adm.Mint(Admission{Room: "standup", Role: PeerHost, Name: "Ada", RegisteredClaims: jwt.RegisteredClaims{Subject: "p1"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := adm.Verify(tok)
	if err != nil || a.Room != "standup" || a.Role != PeerHost || a.Subject != "p1" {
		t.Fatalf("Verify = %+v, %v", a, err)
	}
	if _, err := NewIssuer(testSecret, fixedClock(now)).Verify(tok); err == nil {
		t.Fatal("an admission passed as a peer token")
	}
	if _, err := NewAdmissions(testSecret, fixedClock(now.Add(AdmissionTTL+Leeway+time.Second))).Verify(tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("stale admission: %v", err)
	}
	ptok, _, _ := NewIssuer(testSecret, fixedClock(now)).Mint(peer("standup", now.Add(time.Hour)))
	if _, err := adm.Verify(ptok); err == nil {
		t.Fatal("a peer token passed as an admission")
	}
}

func BenchmarkVerify(b *testing.B) {
	iss := NewIssuer(testSecret, nil)
	tok, _, err := iss.Mint(peer("standup", time.Now().Add(time.Hour)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAdmissionRefusesMalformedICEServers(t *testing.T) {
	adm := NewAdmissions(testSecret, nil)
	base := func() Admission {
		return Admission{Room: "standup", Role: PeerGuest, RegisteredClaims: jwt.RegisteredClaims{Subject: "p1"}}
	}
	good := base()
	good.ICEServers = []ICEServer{{URLs: []string{"turn:example.com:3478"}, Username: "1:p1", Credential: "c"}}
	if _, err := adm.Mint(good); err != nil {
		t.Fatalf("a good ICE server: %v", err)
	}
	for name, ice := range map[string][]ICEServer{
		"too many servers": make([]ICEServer, MaxICEServers+1),
		"no URL":           {{URLs: nil}},
		"long URL":         {{URLs: []string{"turn:" + strings.Repeat("a", 300)}}},
		"control in URL":   {{URLs: []string{"turn:a\nb"}}},
		"long credential":  {{URLs: []string{"turn:a"}, Credential: strings.Repeat("c", 300)}},
	} {
		a := base()
		a.ICEServers = ice
		if _, err := adm.Mint(a); err == nil {
			t.Errorf("%s: minted", name)
		}
	}
}

func TestTURNCredentialsAreTheRESTKind(t *testing.T) {
	shared := TURNSharedSecret(testSecret)
	exp := time.Unix(1_800_000_000, 0)
	c := MintTURN(shared, "peer1", exp)
	if c.Username != "1800000000:peer1" || c.Password != TURNPassword(shared, c.Username) || !c.Expires.Equal(exp) {
		t.Fatalf("credential %+v", c)
	}
	if TURNPassword(TURNSharedSecret(GenerateSecret()), c.Username) == c.Password {
		t.Fatal("another secret gives the same password")
	}
	if e, u, ok := ParseTURNUsername(c.Username); !ok || u != "peer1" || !e.Equal(exp) {
		t.Fatalf("parse: %v %q %v", e, u, ok)
	}
	for _, bad := range []string{"peer1", ":peer1", "1800000000:", "-5:p", "x:p", strings.Repeat("9", 300) + ":p"} {
		if _, _, ok := ParseTURNUsername(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestRejoinPassIsNeitherAnAdmissionNorAPeerToken(t *testing.T) {
	s := Secret(strings.Repeat("k", 32))
	adm := NewAdmissions(s, nil)
	pass, r, err := adm.MintRejoin("standup", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := adm.VerifyRejoin(pass)
	if err != nil || got.Room != "standup" || got.ID != r.ID {
		t.Fatalf("verify: %+v %v", got, err)
	}
	if _, err := adm.Verify(pass); err == nil {
		t.Fatal("a rejoin pass passed for an admission")
	}
	if _, err := NewIssuer(s, nil).Verify(pass); err == nil {
		t.Fatal("a rejoin pass passed for a peer token")
	}
	a, err := adm.Mint(Admission{RegisteredClaims: jwt.RegisteredClaims{Subject: "p"}, Room: "standup", Role: PeerGuest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.VerifyRejoin(a); err == nil {
		t.Fatal("an admission passed for a rejoin pass")
	}
	if _, err := NewAdmissions(Secret(strings.Repeat("x", 32)), nil).VerifyRejoin(pass); err == nil {
		t.Fatal("a pass from another secret was taken")
	}
	if _, _, err := adm.MintRejoin("no room", ""); err == nil {
		t.Fatal("a pass for a bad room name was made")
	}
}
