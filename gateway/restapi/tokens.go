package restapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
)

// Tokens: POST /api/v1/token, /token/validate and /token/revoke.

// serveMintToken is POST /api/v1/token.
func (a *API) serveMintToken(w http.ResponseWriter, r *http.Request) {
	var p TokenProperties
	if rf := readJSON(w, r, &p); rf != nil {
		rf.Write(w)
		return
	}
	c, err := p.Claims(a.g.Now(), a.g.Config().TokenTTL)
	if err != nil {
		httperror.Refuse(http.StatusBadRequest, "bad_token_request", err.Error()).Write(w)
		return
	}
	token, minted, err := a.g.Issuer().Mint(c)
	if err != nil {
		// Mint's errors name the rule broken, never a value.
		httperror.Refuse(http.StatusBadRequest, "bad_token_request", strings.TrimPrefix(err.Error(), "token is not valid: ")).Write(w)
		return
	}
	a.g.Audit(auditTokenMinted, zap.String("address", a.g.Config().ClientIP(r).String()), zap.String("token_id", minted.ID),
		zap.String("room", minted.Room), zap.Bool("global", minted.Global), zap.Bool("admin", minted.Admin),
		zap.Int("max_uses", minted.MaxUses), zap.Time("expires", minted.ExpiresAt.Time))
	httperror.JSON(w, http.StatusOK, map[string]string{"token": token})
}

type tokenBody struct {
	Token string `json:"token"`
}

// serveValidateToken is POST /api/v1/token/validate.
func (a *API) serveValidateToken(w http.ResponseWriter, r *http.Request) {
	var b tokenBody
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	c, err := a.g.Issuer().Verify(b.Token)
	if err != nil {
		httperror.Token(err).Write(w)
		return
	}
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	revoked, err := a.g.Revoked(ctx, c.ID)
	if err != nil {
		a.g.SharedFailed(err)
		httperror.Shared(err).Write(w)
		return
	}
	if revoked {
		httperror.Refuse(http.StatusUnauthorized, "invalid_token", "this token was revoked").Write(w)
		return
	}
	if c.Role != accesstoken.RolePeer {
		httperror.Refuse(http.StatusUnauthorized, "invalid_token", "this is a host login, not a peer token").Write(w)
		return
	}
	answer := struct {
		TokenProperties
		// UsesLeft, for an invitation with maxUses, is how many joins it
		// still opens.
		UsesLeft *int `json:"usesLeft,omitempty"`
	}{TokenProperties: propertiesOf(c)}
	if c.MaxUses > 0 {
		used, err := a.g.Shared().TokenUses(ctx, c.ID)
		if err != nil {
			httperror.Shared(err).Write(w)
			return
		}
		left := max(0, c.MaxUses-used)
		answer.UsesLeft = &left
	}
	httperror.JSON(w, http.StatusOK, answer)
}

// serveRevokeToken is POST /api/v1/token/revoke: the token stops working
// everywhere, live connections that came in with it included.
func (a *API) serveRevokeToken(w http.ResponseWriter, r *http.Request) {
	var b tokenBody
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	c, err := a.g.Issuer().Verify(b.Token)
	switch {
	case errors.Is(err, accesstoken.ErrExpired):
		w.WriteHeader(http.StatusNoContent) // it works nowhere already
		return
	case err != nil:
		httperror.Token(err).Write(w)
		return
	}
	if rf := a.g.Revoke(r.Context(), c, a.g.Config().ClientIP(r)); rf != nil {
		rf.Write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
