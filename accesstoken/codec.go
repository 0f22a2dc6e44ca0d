package accesstoken

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenLen is the longest token accepted, in bytes. Longer input is refused
// before any parsing.
const MaxTokenLen = 8 << 10

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 5 * time.Second

// Errors returned by verification. They are safe to show to the person whose
// token was refused: none contains the token.
var (
	ErrTooLarge    = errors.New("token is larger than 8 KiB")
	ErrMalformed   = errors.New("token is malformed")
	ErrSignature   = errors.New("token signature or algorithm is not valid")
	ErrExpired     = errors.New("token has expired")
	ErrNotYetValid = errors.New("token is not valid yet")
	ErrInvalid     = errors.New("token is not valid")
)

// method is the only algorithm minted and accepted. Pinning it is what keeps
// alg=none and algorithm-confusion tokens out.
var method = jwt.SigningMethodHS256

// codec signs and verifies one kind of token with one key.
type codec struct {
	key      []byte
	audience string
	now      func() time.Time
	parser   *jwt.Parser // built once: the rules do not change
}

func newCodec(key []byte, audience string, now func() time.Time) codec {
	return codec{key: key, audience: audience, now: now, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{method.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithAudience(audience),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)}
}

func (c codec) sign(claims jwt.Claims) (string, error) {
	return jwt.NewWithClaims(method, claims).SignedString(c.key)
}

func (c codec) parse(token string, into jwt.Claims) error {
	if len(token) > MaxTokenLen {
		return ErrTooLarge
	}
	if err := strictShape(token, reflect.TypeOf(into)); err != nil {
		return err
	}
	_, err := c.parser.ParseWithClaims(token, into, func(t *jwt.Token) (any, error) {
		if t.Method != method {
			return nil, ErrSignature
		}
		return c.key, nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	default:
		// Claim-level problems (missing jti, bad room): say which, never echo values.
		var ce claimError
		if errors.As(err, &ce) {
			return fmt.Errorf("%w: %s", ErrInvalid, string(ce))
		}
		return ErrInvalid
	}
}

// strictShape refuses what golang-jwt lets through and the documented
// format does not (RFC 8725: a verifier is exactly as strict as its spec):
// a header with critical extensions (RFC 7515 4.1.11: none is understood
// here), a name twice or in another spelling than its own (names.go), time
// claims written as strings, and a missing iat. Only a key holder can make
// such a token; it is refused all the same.
func strictShape(token string, claims reflect.Type) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ErrMalformed
	}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	p, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil {
		return ErrMalformed
	}
	if err := checkNames(h, headerType); err != nil {
		return err
	}
	if err := checkNames(p, claims); err != nil {
		return err
	}
	var header, payload map[string]json.RawMessage
	if json.Unmarshal(h, &header) != nil || json.Unmarshal(p, &payload) != nil {
		return ErrMalformed
	}
	if _, ok := header["crit"]; ok {
		return fmt.Errorf("%w: token uses a critical extension this server does not understand", ErrInvalid)
	}
	for _, k := range []string{"exp", "nbf", "iat"} {
		if v, ok := payload[k]; ok && (len(v) == 0 || v[0] < '0' || v[0] > '9') {
			return fmt.Errorf("%w: %s must be a number of seconds", ErrInvalid, k)
		}
	}
	if _, ok := payload["iat"]; !ok {
		return fmt.Errorf("%w: iat is required", ErrInvalid)
	}
	return nil
}

// claimError names a claim that breaks the rules; it carries no claim value.
type claimError string

func (e claimError) Error() string { return string(e) }

// NewID returns a random token id (jti).
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
