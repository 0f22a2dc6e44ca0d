package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
)

// Entering: the decision, the places and the registration of a connection,
// decided again when something was cut meanwhile.

// maxDecisions bounds how often one admission is decided again because
// something was cut while it was being decided.
const maxDecisions = 3

// enter decides with the shared store whether the person may enter and,
// when they may, registers the connection. An event that cuts connections
// (a revocation, a logout, a deleted room) arriving between the decision
// and the registration makes it decide again, so that nothing it would
// have cut slips in. Through Redis, a decision costs two round trips: the
// facts, then the pin and the places.
func (g *Gateway) enter(ctx context.Context, addr netip.Addr, room, name string, c *accesstoken.Claims, rejoin *accesstoken.Rejoin, early bool, cancel context.CancelFunc) (*liveConn, entry, *refusal) {
	st := g.state
	for range maxDecisions {
		cuts := st.cuts.Load()
		e, apiRoom, rf := g.decide(ctx, addr, room, name, c, rejoin, early, nil)
		if rf == nil {
			rf = g.roomRules(apiRoom, c, &e, nil)
		}
		if rf == nil && e.role == accesstoken.PeerLobby {
			rf = g.knock(ctx, addr, room, true)
		}
		if rf != nil {
			return nil, e, rf
		}
		places := g.places(addr, room, apiRoom, e)
		if e.pin, rf = g.takePlaces(ctx, room, places); rf != nil {
			return nil, e, rf
		}
		if rf := g.joinToken(ctx, c, &e); rf != nil {
			g.givePlaces(places)
			return nil, e, rf
		}
		st.mu.Lock()
		if st.cuts.Load() != cuts {
			st.mu.Unlock()
			g.givePlaces(places)
			st.leaveToken(e.tokenRecord, true)
			continue
		}
		conn := g.registerLocked(addr, room, apiRoom, c, e, places, cancel)
		st.mu.Unlock()
		return conn, e, nil
	}
	return nil, entry{}, &refusal{Status: http.StatusServiceUnavailable, Code: "busy",
		Message: "too much is changing at once; try again in a moment", RetryAfter: time.Second}
}

// joinToken counts the join of a token with a limit in the shared store:
// its time in rooms (ejectAfterElapsedTimeInSec: across joins and
// gateways; the time away does not count) and its uses (maxUses: a
// reconnect of the same person, shown by a rejoin pass for this token,
// uses nothing). ejectAtTokenExp caps the deadline at the token's expiry.
func (g *Gateway) joinToken(ctx context.Context, c *accesstoken.Claims, e *entry) *refusal {
	if c == nil || (c.EjectAfter <= 0 && c.MaxUses <= 0) || c.ExpiresAt == nil {
		return nil
	}
	ctx, cancel := g.state.sharedCtx(ctx)
	defer cancel()
	j, err := g.state.shared.TokenJoin(ctx, cluster.TokenJoin{ID: c.ID, Expires: c.ExpiresAt.Time,
		EjectAfter: time.Duration(c.EjectAfter) * time.Second, MaxUses: c.MaxUses, Reconnect: e.reconnect})
	if errors.Is(err, cluster.ErrUsedUp) {
		return refuse(http.StatusForbidden, "invitation_used", "this invitation has been used as often as it may be")
	}
	if err != nil {
		return sharedRefusal(err)
	}
	e.tokenRecord = c.ID
	if c.EjectAfter > 0 {
		at := j.Deadline
		if c.EjectAtExpiry && c.ExpiresAt.Time.Before(at) {
			at = c.ExpiresAt.Time
		}
		if !g.state.clock.Now().Before(at) {
			g.state.leaveToken(c.ID, true)
			return refuse(http.StatusForbidden, "time_up", "your time in this room is up")
		}
		e.ejectAt = at
	}
	return nil
}

// registerLocked registers an admitted connection, with the places it took.
func (g *Gateway) registerLocked(addr netip.Addr, room string, apiRoom *Room, c *accesstoken.Claims, e entry, places []cluster.Place, cancel context.CancelFunc) *liveConn {
	st := g.state
	conn := &liveConn{room: room, cancel: cancel, places: places, tokenRecord: e.tokenRecord, identities: e.identities, apiRoom: apiRoom != nil, who: Participant{
		Name:           e.name,
		Email:          claimOr(c, func(c *accesstoken.Claims) string { return c.Email }),
		ExternalUserID: claimOr(c, func(c *accesstoken.Claims) string { return c.ExternalUserID }),
		IsAdmin:        e.role == accesstoken.PeerHost || e.role == accesstoken.PeerAdmin,
	}, lobby: e.role == accesstoken.PeerLobby}
	if e.session != nil {
		conn.session = st.localSessionLocked(*e.session)
	}
	if c != nil {
		conn.tokenID = c.ID
	}
	st.trackLocked(conn, e.ejectAt)
	if apiRoom != nil {
		st.armRoomLocked(apiRoom)
		conn.joinHook, conn.leftHook = apiRoom.HookFor("participant.joined"), apiRoom.HookFor("participant.left")
	}
	return conn
}
