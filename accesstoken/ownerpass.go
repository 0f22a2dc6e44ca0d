package accesstoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// OwnerPassTTL is how long an owner pass is good for: enough to go from the
// start page through the pre-join screen, short enough that a pass for a
// room's name says little about a meeting held there later.
const OwnerPassTTL = 10 * time.Minute

// SubprotocolOwnerPrefix carries an owner pass in the WebSocket subprotocol
// list, beside the person's own credential (if any) and rejoin pass.
const SubprotocolOwnerPrefix = "roomgate.owner."

const ownerAudience = "roomgate:owner"

// OwnerPass is the gateway's word, given to the start page of an open site,
// that its bearer asked for the room when its pass was issued: arriving,
// they take the room's ownership from anyone who became owner after that
// moment (someone who raced in first). It grants no entry and no other
// right; the media server decides ownership.
type OwnerPass struct {
	jwt.RegisteredClaims
	Room string `json:"room"`
}

// MintOwnerPass signs a pass for room, good for OwnerPassTTL.
func (m *Admissions) MintOwnerPass(room string) (string, *OwnerPass, error) {
	if !ValidRoom(room) {
		return "", nil, claimError("room name must be 1-64 of A-Z a-z 0-9 _ -")
	}
	now := m.owner.now()
	p := &OwnerPass{Room: room, RegisteredClaims: jwt.RegisteredClaims{
		ID:        NewID(),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(OwnerPassTTL)),
		Audience:  jwt.ClaimStrings{ownerAudience},
	}}
	s, err := m.owner.sign(p)
	return s, p, err
}

// VerifyOwnerPass checks a pass and returns it.
func (m *Admissions) VerifyOwnerPass(token string) (*OwnerPass, error) {
	var p OwnerPass
	if err := m.owner.parse(token, &p); err != nil {
		return nil, err
	}
	if p.ID == "" || p.IssuedAt == nil || !ValidRoom(p.Room) {
		return nil, ErrInvalid
	}
	return &p, nil
}
