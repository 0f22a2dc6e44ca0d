package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
)

// The door's face for the REST API (package restapi): what the API reads
// and changes goes through these, so the API never reaches into the
// door's connections, sessions or locks.

// APIHandler serves one call of the REST API; path is what follows
// /api/v1/, as the client wrote it.
type APIHandler func(w http.ResponseWriter, r *http.Request, path string)

// MountAPI gives the gateway its REST API (caddymodule mounts restapi's);
// without one, /api/v1/ answers 404.
func (g *Gateway) MountAPI(h APIHandler) { g.api = h }

// Config is the gateway's configuration; read only.
func (g *Gateway) Config() *Config { return &g.cfg }

// Issuer mints and verifies the site's tokens.
func (g *Gateway) Issuer() *accesstoken.Issuer { return g.issuer }

// Logins is how hosts log in here.
func (g *Gateway) Logins() *hostlogin.Logins { return g.logins }

// Now is the gateway's clock.
func (g *Gateway) Now() time.Time { return g.state.clock.Now() }

// Log is the operational logger.
func (g *Gateway) Log() *zap.Logger { return g.log }

// Shared is the state every gateway of the site shares, and Bound bounds
// one call to it from a request.
func (g *Gateway) Shared() cluster.Store { return g.state.shared }

// Bound bounds one call to the shared store.
func (g *Gateway) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return g.state.sharedCtx(ctx)
}

// Revoked says whether the token with this id was revoked, failing closed
// while this gateway is unsure of the store (a failover it has not caught
// up with yet).
func (g *Gateway) Revoked(ctx context.Context, id string) (bool, error) {
	if err := g.state.checkSure(); err != nil {
		return false, err
	}
	return g.state.shared.Revoked(ctx, id)
}

// SharedFailed hears an error of the shared store: one that lost its data
// is given back what this gateway knows.
func (g *Gateway) SharedFailed(err error) { g.state.sharedReset(err) }

// Audit writes one line of the audit log.
func (g *Gateway) Audit(event string, fields ...zap.Field) { g.audit(event, fields...) }

// Notify hands an event to the webhooks.
func (g *Gateway) Notify(event, room string, data map[string]any, roomHooks ...string) {
	g.notify(event, room, data, roomHooks...)
}

// Room is a live API room, or nil.
func (g *Gateway) Room(ctx context.Context, name string) (*Room, error) {
	return g.state.room(ctx, name)
}

// Rooms are the live API rooms.
func (g *Gateway) Rooms(ctx context.Context) ([]Room, error) { return g.state.rooms(ctx) }

// KeepRooms copies the rooms to Caddy's storage, for an in-process store.
func (g *Gateway) KeepRooms(ctx context.Context) *httperror.Refusal { return g.keepRooms(ctx) }

// Participants are who is connected to room through this gateway now.
func (g *Gateway) Participants(room string) []Participant {
	g.state.mu.Lock()
	defer g.state.mu.Unlock()
	return g.state.participantsLocked(room)
}

// Revoke revokes a verified token everywhere (a host token ends its login
// too): every gateway cuts what came in with it, and this one keeps a copy
// for a restart. addr is who asked, for the audit log.
func (g *Gateway) Revoke(ctx context.Context, c *accesstoken.Claims, addr netip.Addr) *httperror.Refusal {
	sctx, cancel := g.state.sharedCtx(ctx)
	defer cancel()
	if c.Role == accesstoken.RoleHost {
		if err := g.logins.EndSession(sctx, c.ID, "its token was revoked"); err != nil {
			return httperror.Shared(err)
		}
	}
	// The store tells every gateway, this one included, which cuts the
	// connections that came in with the token.
	if err := g.state.shared.Revoke(sctx, c.ID, c.ExpiresAt.Time); err != nil {
		if errors.Is(err, cluster.ErrFull) {
			// Never dropped quietly: the caller learns the token still works.
			g.log.Error("the revocation list is full: a token could not be revoked", zap.Int("bound", cluster.MaxRevoked))
			return refuse(http.StatusServiceUnavailable, "revocations_full",
				"the token was NOT revoked: the revocation list holds its limit of live entries; they leave it as their tokens expire")
		}
		g.log.Warn("revoking a token", zap.Error(err))
		return httperror.Shared(err)
	}
	g.audit(auditTokenRevoked, zap.String("address", addr.String()), zap.String("token_id", c.ID))
	g.notify("token.revoked", c.Room, map[string]any{"tokenId": c.ID})
	if g.cfg.Store != nil {
		if err := g.cfg.Store.Store(ctx, revokedKey, g.state.revokedSnapshot()); err != nil {
			g.log.Error("keeping the revocation list", zap.Error(err))
			return refuse(http.StatusInternalServerError, "internal", "the token is revoked, but this gateway could not keep a copy for a restart")
		}
	}
	return nil
}

// Explanation is the decision the door would make on a signalling request,
// and each rule it checked, in order; the last one decided when Refusal is
// set.
type Explanation struct {
	Rules   []string
	Role    accesstoken.PeerRole
	Refusal *httperror.Refusal
}

// Explain runs the door's decision on r, as from addr, without its side
// effects: it takes no place, uses no invitation, opens no session,
// starts no clock.
func (g *Gateway) Explain(r *http.Request, addr netip.Addr) Explanation {
	tr := &trace{}
	e, rf := g.explain(r, addr, tr)
	return Explanation{Rules: tr.rules, Role: e.role, Refusal: rf}
}
