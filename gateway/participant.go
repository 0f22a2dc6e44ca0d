package gateway

import (
	"net/http"
	"net/netip"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin/oidc"
	"go.uber.org/zap"
)

// auditParticipantLogin: someone logged in through the identity provider
// to join a room of a user_auth site as a participant.
const auditParticipantLogin = "participant.login"

// participantFunc is how logins through the identity provider make
// participants: on a user_auth site only (elsewhere a person needs no
// login to join, and the provider's logins make hosts).
func (g *Gateway) participantFunc() oidc.ParticipantFunc {
	if !g.cfg.UserAuth {
		return nil
	}
	return g.mintParticipant
}

// mintParticipant is a participant's token: room-bound, named as the
// provider names the person, carrying its subject for bans, for as long
// as a host's login lasts.
func (g *Gateway) mintParticipant(r *http.Request, p oidc.Participant) (string, string, *refusal) {
	exp := g.state.clock.Now().Add(g.cfg.TokenTTL)
	tok, c, err := g.issuer.Mint(accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)},
		Role:             accesstoken.RolePeer,
		Room:             p.Room,
		Name:             p.Display,
		IdPSubject:       p.Subject,
	})
	if err != nil {
		g.log.Error("minting a participant's token", zap.Error(err))
		return "", "", refuse(http.StatusInternalServerError, "internal", "the login could not be completed")
	}
	return tok, c.ID, nil
}

func (e loginEvents) ParticipantLogin(addr netip.Addr, user, room, token string) {
	e.g.audit(auditParticipantLogin, zap.String("address", addr.String()), zap.String("user", user),
		zap.String("room", room), zap.String("token_id", token))
}
