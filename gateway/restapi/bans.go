package restapi

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
)

// banRequest is the body of POST /api/v1/bans.
type banRequest struct {
	ExternalUserID string `json:"externalUserId"`
	Username       string `json:"username"`
	Address        string `json:"address"`
	// IdPSubject is the identity provider's sub of a participant who
	// logged in through it (a user_auth site with an oidc block).
	IdPSubject  string `json:"idpSubject"`
	RoomName    string `json:"roomName"`
	DurationSec int64  `json:"durationSec"`
	Reason      string `json:"reason"`
}

// identity is the one identity the request names.
func (b *banRequest) identity() (string, *httperror.Refusal) {
	var ids []string
	if b.ExternalUserID != "" {
		ids = append(ids, "xuid:"+b.ExternalUserID)
	}
	if b.Username != "" {
		ids = append(ids, "user:"+b.Username)
	}
	if b.IdPSubject != "" {
		ids = append(ids, "idp:"+b.IdPSubject)
	}
	if b.Address != "" {
		a, err := netip.ParseAddr(b.Address)
		if err != nil {
			return "", httperror.Refuse(http.StatusBadRequest, "bad_ban", "address must be an IP address")
		}
		ids = append(ids, "addr:"+hostlogin.AddrKey(a))
	}
	if len(ids) != 1 {
		return "", httperror.Refuse(http.StatusBadRequest, "bad_ban", "name exactly one of externalUserId, username, idpSubject, address")
	}
	if len(ids[0]) > 300 {
		return "", httperror.Refuse(http.StatusBadRequest, "bad_ban", "the identity is too long")
	}
	return ids[0], nil
}

// serveBans is GET and POST /api/v1/bans.
func (a *API) serveBans(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	if r.Method == http.MethodGet {
		list, err := a.g.Shared().Bans(ctx)
		if err != nil {
			httperror.Shared(err).Write(w)
			return
		}
		httperror.JSON(w, http.StatusOK, list)
		return
	}
	var b banRequest
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	id, rf := b.identity()
	if rf != nil {
		rf.Write(w)
		return
	}
	if b.RoomName != "" && !accesstoken.ValidRoom(b.RoomName) {
		httperror.Refuse(http.StatusBadRequest, "bad_room", "roomName must be 1-64 of A-Z a-z 0-9 _ -").Write(w)
		return
	}
	if b.DurationSec < 0 || b.DurationSec > 10*365*24*3600 || len(b.Reason) > 200 {
		httperror.Refuse(http.StatusBadRequest, "bad_ban", "durationSec must be 0 (for ever) to ten years; reason at most 200 bytes").Write(w)
		return
	}
	ban := a.g.NewBan(id, b.RoomName, time.Duration(b.DurationSec)*time.Second, b.Reason, "api")
	if rf := a.g.Ban(ctx, ban); rf != nil {
		rf.Write(w)
		return
	}
	a.g.Audit(auditBanned, zap.String("address", a.g.Config().ClientIP(r).String()), zap.String("identity", ban.Identity),
		zap.String("room", ban.Room), zap.Time("until", ban.Until), zap.String("by", ban.By))
	a.g.Notify("participant.banned", ban.Room, map[string]any{"identity": ban.Identity, "until": ban.Until, "by": ban.By})
	httperror.JSON(w, http.StatusCreated, ban)
}

// serveUnban is DELETE /api/v1/bans/{identity}?roomName=…
func (a *API) serveUnban(w http.ResponseWriter, r *http.Request, identity string) {
	identity, err := url.PathUnescape(identity)
	if err != nil {
		httperror.Refuse(http.StatusBadRequest, "bad_ban", "the identity is not a path segment").Write(w)
		return
	}
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	room := r.URL.Query().Get("roomName")
	switch err := a.g.Shared().Unban(ctx, identity, room); {
	case errors.Is(err, cluster.ErrNotFound):
		httperror.Refuse(http.StatusNotFound, "no_such_ban", "there is no such ban").Write(w)
		return
	case err != nil:
		httperror.Shared(err).Write(w)
		return
	}
	if rf := a.g.KeepBans(ctx); rf != nil {
		rf.Write(w)
		return
	}
	a.g.Audit(auditUnbanned, zap.String("address", a.g.Config().ClientIP(r).String()), zap.String("identity", identity), zap.String("room", room))
	w.WriteHeader(http.StatusNoContent)
}
