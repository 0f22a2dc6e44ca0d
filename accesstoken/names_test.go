package accesstoken

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signedParts signs a header and payload written by hand with key, as
// only a key holder could: what is refused here is refused for its form.
func signedParts(t *testing.T, key []byte, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	unsigned := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(unsigned, key)
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + enc(sig)
}

func TestVerifyReadsClaimsByTheirExactNames(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss := NewIssuer(testSecret, fixedClock(now))
	key := testSecret.Key(PurposePeerToken)
	exp, iat := fmt.Sprint(now.Add(time.Hour).Unix()), fmt.Sprint(now.Unix())
	const hdr = `{"alg":"HS256","typ":"JWT"}`
	// body is a good peer token's claims with extra members spliced in
	// before and after.
	body := func(before, after string) string {
		return fmt.Sprintf(`{%s"jti":"id1","aud":["%s"],"role":"peer","room":"standup","iat":%s%s}`, before, peerAudience, iat, after)
	}
	withExp := func(before, after string) string { return body(before, `,"exp":`+exp+after) }

	if c, err := iss.Verify(signedParts(t, key, hdr, withExp("", ""))); err != nil || c.Room != "standup" {
		t.Fatalf("the control token: %v, %v", c, err)
	}
	// A member no claim is named like is ignored, as JWT allows.
	if _, err := iss.Verify(signedParts(t, key, hdr, withExp(`"x-custom":1,`, ""))); err != nil {
		t.Fatalf("an unknown claim: %v", err)
	}

	cases := []struct{ name, header, payload string }{
		// The report: the only expiry spelled "Exp", a string.
		{"Exp as a string, no exp", hdr, body(`"Exp":"`+exp+`",`, "")},
		{"EXP as a number, no exp", hdr, body("", `,"EXP":`+exp)},
		{"Exp beside exp", hdr, withExp("", `,"Exp":`+exp)},
		{"ROOM beside room", hdr, withExp("", `,"ROOM":"other"`)},
		{"Admin for admin", hdr, withExp(`"Admin":true,`, "")},
		// encoding/json folds Unicode too: U+017F (ſ) matches s.
		{"ſub for sub", hdr, withExp(`"ſub":"alice",`, "")},
		{"max_uſeſ for max_uses", hdr, withExp(`"max_uſeſ":1,`, "")},
		{"jti twice", hdr, withExp("", `,"jti":"id2"`)},
		{"room twice", hdr, withExp("", `,"room":"other"`)},
		{"role twice, escaped", hdr, withExp("", `,"\u0072ole":"host"`)},
		{"an unknown name twice", hdr, withExp(`"x":1,"x":2,`, "")},
		{"alg twice", `{"alg":"HS256","typ":"JWT","alg":"HS256"}`, withExp("", "")},
		{"ALG beside alg", `{"alg":"HS256","ALG":"none","typ":"JWT"}`, withExp("", "")},
		{"Crit", `{"alg":"HS256","Crit":["exp"]}`, withExp("", "")},
		{"two values", hdr, withExp("", "") + `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := signedParts(t, key, tc.header, tc.payload)
			c, err := iss.Verify(tok)
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify = %+v, %v; want a refusal", c, err)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), exp) {
				t.Fatalf("the error carries a value: %v", err)
			}
		})
	}
}

func TestAdmissionNamesAreExactInsideToo(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	adm := NewAdmissions(testSecret, fixedClock(now))
	key := testSecret.Key(PurposeAdmission)
	exp, iat := fmt.Sprint(now.Add(time.Minute).Unix()), fmt.Sprint(now.Unix())
	tok := func(ice string) string {
		return signedParts(t, key, `{"alg":"HS256","typ":"JWT"}`, fmt.Sprintf(
			`{"jti":"a1","sub":"p1","aud":["%s"],"room":"standup","role":"guest","exp":%s,"iat":%s,"ice":[%s]}`,
			admissionAudience, exp, iat, ice))
	}
	if a, err := adm.Verify(tok(`{"urls":["turn:example.com:3478"],"username":"u","credential":"c"}`)); err != nil || len(a.ICEServers) != 1 {
		t.Fatalf("the control admission: %+v, %v", a, err)
	}
	for _, ice := range []string{
		`{"URLS":["turn:example.com:3478"],"username":"u","credential":"c"}`,
		`{"urls":["turn:example.com:3478"],"username":"u","username":"v","credential":"c"}`,
	} {
		if a, err := adm.Verify(tok(ice)); err == nil {
			t.Fatalf("ice %s: admitted %+v", ice, a)
		}
	}
}

func TestIsRoomgateToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	peerTok, _, err := NewIssuer(testSecret, fixedClock(now)).Mint(peer("standup", now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	foreign := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"aud":"https://api.example.com"}`)) + ".sig"
	for tok, want := range map[string]bool{
		peerTok:                          true,
		peerTok[:len(peerTok)-3] + "AAA": true, // a bad signature is still ours to take out
		foreign:                          false,
		"opaque-api-key":                 false,
		"":                               false,
	} {
		if got := IsRoomgateToken(tok); got != want {
			t.Errorf("IsRoomgateToken(%.20q…) = %v; want %v", tok, got, want)
		}
	}
}
