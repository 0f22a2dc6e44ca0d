package accesstoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// RejoinTTL is how long a rejoin pass is good for; the media server hands
// its peers a fresh one well before the last runs out.
const RejoinTTL = 10 * time.Minute

// SubprotocolRejoinPrefix carries a rejoin pass in the WebSocket
// subprotocol list, beside the person's own credential.
const SubprotocolRejoinPrefix = "roomgate.rejoin."

const rejoinAudience = "roomgate:rejoin"

// Rejoin is a media server's word that a peer was in a room: with it the
// peer comes back into the room after its connection broke (the node died,
// the room moved) even while the room is locked. It grants nothing else:
// the person's own credential still decides who they are.
type Rejoin struct {
	jwt.RegisteredClaims
	Room string `json:"room"`
	// TokenID is the jti of the token the peer came in with: a reconnect
	// with it uses no invitation.
	TokenID string `json:"tid,omitempty"`
}

// MintRejoin signs a pass for room, for a peer that came in with the token
// tokenID ("" without one), good for RejoinTTL.
func (m *Admissions) MintRejoin(room, tokenID string) (string, *Rejoin, error) {
	now := m.rejoin.now()
	r := &Rejoin{Room: room, TokenID: tokenID, RegisteredClaims: jwt.RegisteredClaims{
		ID:        NewID(),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(RejoinTTL)),
		Audience:  jwt.ClaimStrings{rejoinAudience},
	}}
	if !ValidRoom(room) {
		return "", nil, claimError("room name must be 1-64 of A-Z a-z 0-9 _ -")
	}
	s, err := m.rejoin.sign(r)
	return s, r, err
}

// VerifyRejoin checks a pass and returns it.
func (m *Admissions) VerifyRejoin(token string) (*Rejoin, error) {
	var r Rejoin
	if err := m.rejoin.parse(token, &r); err != nil {
		return nil, err
	}
	if r.ID == "" || !ValidRoom(r.Room) {
		return nil, ErrInvalid
	}
	return &r, nil
}
