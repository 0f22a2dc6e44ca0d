package accesstoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// EarlyTTL is how long a browser counts as having come to a room before
// its host: the gateway renews the pass at every check while the browser
// waits.
const EarlyTTL = 10 * time.Minute

const earlyAudience = "roomgate:early"

// Early is the gateway's word, kept by one browser, that it came to a
// room before the room's host. It grants nothing: its holder is sent to
// the lobby instead of straight in. Signed, so nobody marks another's
// browser or forges one; bound to one room.
type Early struct {
	jwt.RegisteredClaims
	Room string `json:"room"`
}

// MintEarly signs a pass for room, good for EarlyTTL.
func (m *Admissions) MintEarly(room string) (string, error) {
	if !ValidRoom(room) {
		return "", claimError("room name must be 1-64 of A-Z a-z 0-9 _ -")
	}
	now := m.early.now()
	return m.early.sign(&Early{Room: room, RegisteredClaims: jwt.RegisteredClaims{
		ID:        NewID(),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(EarlyTTL)),
		Audience:  jwt.ClaimStrings{earlyAudience},
	}})
}

// VerifyEarly checks a pass and returns it.
func (m *Admissions) VerifyEarly(token string) (*Early, error) {
	var e Early
	if err := m.early.parse(token, &e); err != nil {
		return nil, err
	}
	if e.ID == "" || !ValidRoom(e.Room) {
		return nil, ErrInvalid
	}
	return &e, nil
}
