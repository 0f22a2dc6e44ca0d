package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// Bans keep a person out by who they verifiably are: the externalUserId a
// token carries, the username a host logged in with, the identity
// provider's subject of a host or participant who logged in through it,
// or, for a guest with neither, the address they come from (for at most a day: addresses are
// shared and change hands). A ban holds in one room or in every room, for
// a time or for ever, on every gateway, and is checked with the other
// facts of an admission, before the media server hears of the person.

// identityOf is who a person verifiably is, for bans: what a ban made of
// them in a room names.
func identityOf(addr netip.Addr, c *accesstoken.Claims) string {
	switch {
	case c != nil && c.IdPSubject != "":
		return "idp:" + c.IdPSubject
	case c != nil && c.Role == accesstoken.RoleHost:
		return "user:" + c.Subject
	case c != nil && c.ExternalUserID != "":
		return "xuid:" + c.ExternalUserID
	}
	return "addr:" + addrKey(addr)
}

// identitiesOf is every identity a ban may name the person by, identityOf
// first: a host who logged in through the identity provider may be banned
// by the provider's subject or by the username it gave.
func identitiesOf(addr netip.Addr, c *accesstoken.Claims) []string {
	ids := []string{identityOf(addr, c)}
	if c != nil && c.Role == accesstoken.RoleHost && c.IdPSubject != "" {
		ids = append(ids, "user:"+c.Subject)
	}
	return ids
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
		if slices.Contains(c.identities, identity) && (room == "" || c.room == room) {
			st.clock.AfterFunc(ejectBackstop, func() {
				st.mu.Lock()
				defer st.mu.Unlock()
				c.closeLocked(cutBanned)
			})
		}
	}
}

// NewBan makes a ban; an address is banned for at most maxAddressBan.
func (g *Gateway) NewBan(identity, room string, d time.Duration, reason, by string) cluster.Ban {
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

// Ban keeps an identity out (cluster.Store.Ban) and keeps the bans for a
// restart.
func (g *Gateway) Ban(ctx context.Context, b cluster.Ban) *refusal {
	err := g.state.shared.Ban(ctx, b)
	if errors.Is(err, cluster.ErrFull) {
		return refuse(http.StatusServiceUnavailable, "bans_full", "the ban list holds its limit; lift some bans first")
	}
	if err != nil {
		return sharedRefusal(err)
	}
	return g.KeepBans(ctx)
}

// bansKey is where bans are kept in the Store, for an in-memory store.
const bansKey = "roomgate/bans.json"

// KeepBans copies the bans to Caddy's storage, for an in-memory store (one
// process); a store that keeps itself needs no copy.
func (g *Gateway) KeepBans(ctx context.Context) *refusal {
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
