package accesstoken

import (
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Limits on what a token may carry.
const (
	MaxNameLen       = 64   // characters of a display name
	MaxEmailLen      = 254  // bytes, RFC 5321's path limit
	MaxMetaLen       = 1000 // characters of free-form meta
	MaxExternalIDLen = 256  // bytes
	MaxUses          = 1_000_000
)

// Role says what kind of person a peer token stands for.
type Role string

const (
	// RoleHost is a logged-in host; the token is only good with its live session.
	RoleHost Role = "host"
	// RolePeer is anyone holding a token minted through the API or a join link.
	RolePeer Role = "peer"
)

var roomName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidRoom reports whether name is a room name roomgate accepts.
func ValidRoom(name string) bool { return roomName.MatchString(name) }

// ValidDisplayName reports whether s may be shown as a person's name: at most
// MaxNameLen characters, valid UTF-8, no control characters.
func ValidDisplayName(s string) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxNameLen && !hasControl(s)
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// Claims are a peer token's contents: Metered's token properties plus the role.
// Subject holds the username for host tokens; ID (jti) is always set.
type Claims struct {
	jwt.RegisteredClaims
	Role           Role   `json:"role"`
	Room           string `json:"room,omitempty"`
	Global         bool   `json:"global,omitempty"`
	Admin          bool   `json:"admin,omitempty"`
	Name           string `json:"name,omitempty"`
	Email          string `json:"email,omitempty"`
	Meta           string `json:"meta,omitempty"`
	ExternalUserID string `json:"xuid,omitempty"`
	// IdPSubject is the identity provider's subject (sub) of a host or a
	// participant who logged in through it (an oidc block): who they
	// verifiably are, for bans (the name the provider gives may be one its
	// users can change). Only the gateway's login mints it.
	IdPSubject string `json:"idp_sub,omitempty"`
	// EjectAfter removes the peer this many seconds after it joins; 0: never.
	EjectAfter int64 `json:"eject_after,omitempty"`
	// EjectAtExpiry removes the peer from a live call when the token expires.
	EjectAtExpiry bool `json:"eject_at_exp,omitempty"`
	// MaxUses is how many joins the token opens (1: a single-use link); a
	// reconnect of the same person soon after does not count; 0: any.
	MaxUses int `json:"max_uses,omitempty"`
}

// Validate checks the rules beyond signature and time. It runs at minting and
// again at verification, so a token that breaks them never leaves or enters.
func (c *Claims) Validate() error {
	if c.ID == "" || len(c.ID) > 64 {
		return claimError("jti is missing or too long")
	}
	switch c.Role {
	case RoleHost:
		if c.Subject == "" || len(c.Subject) > 128 {
			return claimError("host token has no username")
		}
		if c.Room != "" || c.Global {
			return claimError("host token must not name a room")
		}
	case RolePeer:
		if c.Global == (c.Room != "") {
			return claimError("token must name exactly one room or be global")
		}
	default:
		return claimError("unknown role")
	}
	if c.Room != "" && !ValidRoom(c.Room) {
		return claimError("room name must be 1-64 of A-Z a-z 0-9 _ -")
	}
	if !ValidDisplayName(c.Name) {
		return claimError("name is too long or has control characters")
	}
	if len(c.Email) > MaxEmailLen || hasControl(c.Email) {
		return claimError("email is too long or has control characters")
	}
	if !utf8.ValidString(c.Meta) || utf8.RuneCountInString(c.Meta) > MaxMetaLen {
		return claimError("meta is longer than 1000 characters")
	}
	if len(c.ExternalUserID) > MaxExternalIDLen || hasControl(c.ExternalUserID) {
		return claimError("externalUserId is too long or has control characters")
	}
	if len(c.IdPSubject) > MaxExternalIDLen || hasControl(c.IdPSubject) {
		return claimError("idp_sub is too long or has control characters")
	}
	if c.EjectAfter < 0 {
		return claimError("eject after must not be negative")
	}
	if c.MaxUses < 0 || c.MaxUses > MaxUses {
		return claimError("maxUses must be 0 (any) to 1000000")
	}
	return nil
}

// EjectAt is when a peer that joined at joined must be removed, given this
// token; the zero time means never.
func (c *Claims) EjectAt(joined time.Time) time.Time {
	var at time.Time
	if c.EjectAfter > 0 {
		at = joined.Add(time.Duration(c.EjectAfter) * time.Second)
	}
	if c.EjectAtExpiry && c.ExpiresAt != nil {
		if exp := c.ExpiresAt.Time; at.IsZero() || exp.Before(at) {
			at = exp
		}
	}
	return at
}

const peerAudience = "roomgate:peer"

// Issuer mints and verifies peer tokens (hosts' and guests').
type Issuer struct{ c codec }

// NewIssuer returns an Issuer keyed from s. now is the clock; nil means time.Now.
func NewIssuer(s Secret, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{newCodec(s.Key(PurposePeerToken), peerAudience, now)}
}

// Mint signs c. It fills in jti (when empty), iat and the audience; c must
// carry an expiry.
func (i *Issuer) Mint(c Claims) (string, *Claims, error) {
	if c.ExpiresAt == nil {
		return "", nil, claimError("token needs an expiry")
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	c.IssuedAt = jwt.NewNumericDate(i.c.now())
	c.Audience = jwt.ClaimStrings{peerAudience}
	if err := c.Validate(); err != nil {
		return "", nil, err
	}
	s, err := i.c.sign(&c)
	if err != nil {
		return "", nil, err
	}
	return s, &c, nil
}

// Verify checks a peer token and returns its claims.
func (i *Issuer) Verify(token string) (*Claims, error) {
	var c Claims
	if err := i.c.parse(token, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
