package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// Bans keep a person out by who they verifiably are: the externalUserId a
// token carries, the username a host logged in with, or, for a guest with
// neither, the address they come from (for at most a day: addresses are
// shared and change hands). A ban holds in one room or in every room, for
// a time or for ever, on every gateway, and is checked with the other
// facts of an admission, before the media server hears of the person.

// identityOf is who a person verifiably is, for bans.
func identityOf(addr netip.Addr, c *accesstoken.Claims) string {
	switch {
	case c != nil && c.Role == accesstoken.RoleHost:
		return "user:" + c.Subject
	case c != nil && c.ExternalUserID != "":
		return "xuid:" + c.ExternalUserID
	}
	return "addr:" + addrKey(addr)
}

// maxAddressBan bounds a ban of an address.
const maxAddressBan = 24 * time.Hour

func banRefusal(b *cluster.Ban) *refusal {
	msg := "you may not join this room"
	if b.Room == "" {
		msg = "you may not join any room here"
	}
	if !b.Until.IsZero() {
		msg += " until " + b.Until.UTC().Format(time.RFC3339)
	}
	return refuse(http.StatusForbidden, "banned", msg)
}

// bannedLocked cuts what a banned identity holds here, in its room or
// everywhere: after a moment, so that the media server's word to the
// person it removed (bye, kicked) gets through first. New connections are
// refused at once.
func (st *State) bannedLocked(identity, room string) {
	st.cuts.Add(1)
	for c := range st.conns {
		if c.identity == identity && (room == "" || c.room == room) {
			st.clock.AfterFunc(ejectBackstop, func() {
				st.mu.Lock()
				defer st.mu.Unlock()
				c.closeLocked(cutBanned)
			})
		}
	}
}

// banRequest is the body of POST /api/v1/bans.
type banRequest struct {
	ExternalUserID string `json:"externalUserId"`
	Username       string `json:"username"`
	Address        string `json:"address"`
	RoomName       string `json:"roomName"`
	DurationSec    int64  `json:"durationSec"`
	Reason         string `json:"reason"`
}

// identity is the one identity the request names.
func (b *banRequest) identity() (string, *refusal) {
	var ids []string
	if b.ExternalUserID != "" {
		ids = append(ids, "xuid:"+b.ExternalUserID)
	}
	if b.Username != "" {
		ids = append(ids, "user:"+b.Username)
	}
	if b.Address != "" {
		a, err := netip.ParseAddr(b.Address)
		if err != nil {
			return "", refuse(http.StatusBadRequest, "bad_ban", "address must be an IP address")
		}
		ids = append(ids, "addr:"+addrKey(a))
	}
	if len(ids) != 1 {
		return "", refuse(http.StatusBadRequest, "bad_ban", "name exactly one of externalUserId, username, address")
	}
	if len(ids[0]) > 300 {
		return "", refuse(http.StatusBadRequest, "bad_ban", "the identity is too long")
	}
	return ids[0], nil
}

// serveBans is GET and POST /api/v1/bans.
func (g *Gateway) serveBans(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	if r.Method == http.MethodGet {
		list, err := g.state.shared.Bans(ctx)
		if err != nil {
			sharedRefusal(err).Write(w)
			return
		}
		writeJSON(w, http.StatusOK, list)
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
		refuse(http.StatusBadRequest, "bad_room", "roomName must be 1-64 of A-Z a-z 0-9 _ -").Write(w)
		return
	}
	if b.DurationSec < 0 || b.DurationSec > 10*365*24*3600 || len(b.Reason) > 200 {
		refuse(http.StatusBadRequest, "bad_ban", "durationSec must be 0 (for ever) to ten years; reason at most 200 bytes").Write(w)
		return
	}
	ban := g.newBan(id, b.RoomName, time.Duration(b.DurationSec)*time.Second, b.Reason, "api")
	if rf := g.ban(ctx, ban); rf != nil {
		rf.Write(w)
		return
	}
	g.audit(auditBanned, zap.String("address", g.cfg.ClientIP(r).String()), zap.String("identity", ban.Identity),
		zap.String("room", ban.Room), zap.Time("until", ban.Until), zap.String("by", ban.By))
	g.notify("participant.banned", ban.Room, map[string]any{"identity": ban.Identity, "until": ban.Until, "by": ban.By})
	writeJSON(w, http.StatusCreated, ban)
}

// newBan makes a ban; an address is banned for at most maxAddressBan.
func (g *Gateway) newBan(identity, room string, d time.Duration, reason, by string) cluster.Ban {
	now := g.state.clock.Now()
	if strings.HasPrefix(identity, "addr:") && (d == 0 || d > maxAddressBan) {
		d = maxAddressBan
	}
	b := cluster.Ban{Identity: identity, Room: room, Reason: reason, By: by, Created: now}
	if d > 0 {
		b.Until = now.Add(d)
	}
	return b
}

func (g *Gateway) ban(ctx context.Context, b cluster.Ban) *refusal {
	err := g.state.shared.Ban(ctx, b)
	if errors.Is(err, cluster.ErrFull) {
		return refuse(http.StatusServiceUnavailable, "bans_full", "the ban list holds its limit; lift some bans first")
	}
	if err != nil {
		return sharedRefusal(err)
	}
	return g.keepBans(ctx)
}

// serveUnban is DELETE /api/v1/bans/{identity}?roomName=…
func (g *Gateway) serveUnban(w http.ResponseWriter, r *http.Request, identity string) {
	identity, err := url.PathUnescape(identity)
	if err != nil {
		refuse(http.StatusBadRequest, "bad_ban", "the identity is not a path segment").Write(w)
		return
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	room := r.URL.Query().Get("roomName")
	switch err := g.state.shared.Unban(ctx, identity, room); {
	case errors.Is(err, cluster.ErrNotFound):
		refuse(http.StatusNotFound, "no_such_ban", "there is no such ban").Write(w)
		return
	case err != nil:
		sharedRefusal(err).Write(w)
		return
	}
	if rf := g.keepBans(ctx); rf != nil {
		rf.Write(w)
		return
	}
	g.audit(auditUnbanned, zap.String("address", g.cfg.ClientIP(r).String()), zap.String("identity", identity), zap.String("room", room))
	w.WriteHeader(http.StatusNoContent)
}

// bansKey is where bans are kept in the Store, for an in-memory store.
const bansKey = "roomgate/bans.json"

// keepBans copies the bans to Caddy's storage, for an in-memory store (one
// process); a store that keeps itself needs no copy.
func (g *Gateway) keepBans(ctx context.Context) *refusal {
	if g.cfg.Store == nil || !g.state.inProcess() {
		return nil
	}
	list, err := g.state.shared.Bans(ctx)
	if err == nil {
		b, _ := json.Marshal(list)
		err = g.cfg.Store.Store(ctx, bansKey, b)
	}
	if err != nil {
		g.log.Error("keeping the bans", zap.Error(err))
		return refuse(http.StatusInternalServerError, "internal", "the ban is made, but could not be kept for a restart")
	}
	return nil
}

// loadBans reads the bans kept in Caddy's storage into the in-memory
// store of a fresh State.
func (st *State) loadBans(ctx context.Context, s Store, log *zap.Logger) {
	st.mu.Lock()
	if st.bansLoaded || s == nil || !st.inProcess() {
		st.mu.Unlock()
		return
	}
	st.bansLoaded = true
	st.mu.Unlock()
	list, ok := loadStored[[]cluster.Ban](ctx, s, bansKey, "the bans", log)
	if !ok {
		return
	}
	now := st.clock.Now()
	for _, b := range list {
		if b.Until.IsZero() || now.Before(b.Until) {
			if err := st.shared.Ban(ctx, b); err != nil {
				log.Warn("loading a kept ban", zap.Error(err))
			}
		}
	}
}
