package gateway

import (
	"net/http"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"go.uber.org/zap"
)

// Invitations: a logged-in host's Copy link, on a user_auth site, where a
// bare link would ask a guest for a login they do not have.

// Defaults for the invitations a host's Copy link makes: a day, for the
// people of one meeting (a reconnect with a rejoin pass uses none).
const (
	DefaultInvitationTTL  = 24 * time.Hour
	DefaultInvitationUses = 50
)

// serveInvitation is POST /invitation {"room"}, from a page of this site
// with the host's cookie (or host token): 200 {"link", "expiresAt",
// "maxUses"}, a room-bound peer token with a lifetime and a use count, as
// the API mints them, in the link's fragment, which no server or log sees.
func (g *Gateway) serveInvitation(w http.ResponseWriter, r *http.Request) {
	room, rf := readRoomBody(w, r)
	if rf != nil {
		rf.Write(w)
		return
	}
	u, rf := g.logins.HostFor(r, room)
	if rf != nil {
		rf.Write(w)
		return
	}
	exp := g.state.clock.Now().Add(g.cfg.InvitationTTL)
	tok, c, err := g.issuer.Mint(accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)},
		Role:             accesstoken.RolePeer,
		Room:             room,
		MaxUses:          g.cfg.InvitationUses,
	})
	if err != nil {
		g.log.Error("minting an invitation", zap.Error(err))
		refuse(http.StatusInternalServerError, "internal", "the invitation could not be made").Write(w)
		return
	}
	g.audit("token.minted", zap.String("address", g.cfg.ClientIP(r).String()), zap.String("user", u.Name),
		zap.String("token_id", c.ID), zap.String("room", room), zap.Bool("global", false), zap.Bool("admin", false),
		zap.Int("max_uses", c.MaxUses), zap.Time("expires", c.ExpiresAt.Time))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		Link      string    `json:"link"`
		ExpiresAt time.Time `json:"expiresAt"`
		MaxUses   int       `json:"maxUses"`
	}{"/join/" + room + "#peer_token=" + url.QueryEscape(tok), c.ExpiresAt.UTC(), c.MaxUses})
}
