package gateway

import (
	"context"
	"errors"

	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// apply acts here on a change made anywhere in the site: the connections
// this gateway holds that the change shuts out are cut.
func (st *State) apply(e cluster.Event) {
	st.countEvent(e.Kind)
	switch e.Kind {
	case cluster.EventRevoked:
		st.mu.Lock()
		st.revokedHeardLocked(e.ID, e.Until)
		st.mu.Unlock()
	case cluster.EventSessionEnded:
		st.mu.Lock()
		st.sessionEndedLocked(e.ID, e.Reason)
		if !e.Until.IsZero() {
			// Kept with the revocations: a store that loses its data is
			// never given this session back.
			st.revokedHeardLocked(e.ID, e.Until)
		}
		st.mu.Unlock()
	case cluster.EventRoomDeleted:
		st.mu.Lock()
		st.roomClosedLocked(e.Room, "deleted through the API")
		st.mu.Unlock()
	case cluster.EventBanned:
		st.mu.Lock()
		st.bannedLocked(e.ID, e.Room)
		st.mu.Unlock()
		if keep := st.keepBans.Load(); keep != nil {
			// Before the call that banned returns (an in-process store
			// delivers its events at once), so a restart right after keeps
			// the ban; reading the store from here takes none of its locks
			// that delivery holds.
			ctx, cancel := st.sharedCtx(context.Background())
			(*keep)(ctx)
			cancel()
		}
	case cluster.EventRoomChanged:
		st.roomChanged(e.Room)
	case cluster.EventStreamLost:
		st.unsure.Store(true)
	case cluster.EventResync:
		st.resync()
	}
}

// roomChanged re-arms the expiry of a room whose properties changed, if
// people are in it here.
func (st *State) roomChanged(name string) {
	st.mu.Lock()
	_, here := st.byRoom[name]
	st.mu.Unlock()
	if !here {
		return
	}
	ctx, cancel := st.sharedCtx(context.Background())
	defer cancel()
	r, err := st.room(ctx, name)
	if err != nil {
		st.log().Warn("reading a changed room", zap.Error(err))
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if r == nil {
		st.roomClosedLocked(name, "the room expired")
		return
	}
	if len(st.byRoom[name]) > 0 {
		st.armRoomLocked(r)
	}
}

// resync checks what this gateway holds against the shared store, after
// events may have been missed (the store was out of reach, or lost its
// data): what the store lost is given back (storelost.go), and
// connections that a missed event would have cut are cut.
func (st *State) resync() {
	ctx, cancel := context.WithTimeout(context.Background(), 4*sharedTimeout)
	defer cancel()
	if st.unsure.Load() {
		st.suspectLoss("the shared state's event stream broke; giving back what this gateway knows")
	}
	st.noticeLoss(ctx)
	if st.recoverLost(ctx) {
		st.unsure.Store(false)
	}
	// Sessions the store lost and that are not given back yet did not end:
	// the next renewal tries again.
	st.recoverMu.Lock()
	pending := st.loss.lost
	st.recoverMu.Unlock()

	type held struct {
		token, session, room string
		apiRoom              bool
	}
	st.mu.Lock()
	var list []held
	for c := range st.conns {
		h := held{token: c.tokenID, room: c.room, apiRoom: c.apiRoom}
		if c.session != nil {
			h.session = c.session.id
		}
		list = append(list, h)
	}
	st.mu.Unlock()

	revoked, ended, gone := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, h := range list {
		var err error
		if h.token != "" && h.session == "" {
			var r bool
			if r, err = st.shared.Revoked(ctx, h.token); r {
				revoked[h.token] = true
			}
		}
		if h.session != "" && err == nil {
			// Renewing the host's presence is how a session that ended
			// elsewhere shows: the store no longer knows it.
			if e := st.shared.HostPresent(ctx, h.room, h.session, st.holder, st.presenceLease()); errors.Is(e, cluster.ErrNotFound) {
				ended[h.session] = !pending
			} else {
				err = e
			}
		}
		if h.apiRoom && err == nil {
			var r *Room
			if r, err = st.room(ctx, h.room); r == nil && err == nil {
				gone[h.room] = true
			}
		}
		if err != nil {
			st.log().Warn("checking connections against the shared state", zap.Error(err))
			return
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for id := range revoked {
		st.revokedHeardLocked(id, st.clock.Now().Add(cluster.SessionKeep))
	}
	for id, yes := range ended {
		if yes {
			st.sessionEndedLocked(id, "ended while this gateway was away from the shared state")
		}
	}
	for name := range gone {
		st.roomClosedLocked(name, "deleted while this gateway was away from the shared state")
	}
}
