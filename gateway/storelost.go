package gateway

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// A shared store that loses its data (a Redis restarted empty, or flushed)
// loses the logins of hosts who are in calls at that moment. Their live
// connections through this gateway prove those logins: the gateway gives
// them back, after every revocation it heard of, ended sessions among them
// (cluster.Store.EndSession), so that nothing that ended comes back.

// lossState is this gateway's view of the shared store's data; recoverMu
// guards it and runs one recovery at a time.
type lossState struct {
	// incarnation is the store's incarnation last read here.
	incarnation string
	// lost says that the store lost its data and the sessions of the hosts
	// connected here are not given back yet.
	lost bool
}

// noticeLoss reads the store's incarnation: a new one means the store lost
// its data since this gateway last looked. It reports whether sessions are
// still to be given back.
func (st *State) noticeLoss(ctx context.Context) bool {
	name, err := st.shared.Incarnation(ctx)
	st.recoverMu.Lock()
	defer st.recoverMu.Unlock()
	if err != nil {
		st.log().Warn("reading the shared state's incarnation", zap.Error(err))
		return st.loss.lost
	}
	if st.loss.incarnation != "" && name != st.loss.incarnation {
		st.markLostLocked("the shared state lost its data; giving back what this gateway knows")
	}
	st.loss.incarnation = name
	return st.loss.lost
}

// suspectLoss takes the store to have lost data though its incarnation
// is the same: a Redis restored from an older backup keeps the name it had
// then. Two things say so: the store no longer knows a login whose
// connection is live here, or the event stream broke (Redis restarted).
// The logins of hosts in calls here are given back with the rest
// (recoverLost): one the store holds is written again as it was, one that
// ended is refused (the store keeps ended logins with the revocations).
func (st *State) suspectLoss(why string) {
	st.recoverMu.Lock()
	defer st.recoverMu.Unlock()
	if !st.loss.lost {
		st.markLostLocked(why)
	}
}

func (st *State) markLostLocked(why string) {
	st.log().Warn(why)
	st.loss.lost = true
	st.lostAt.Store(st.clock.Now().UnixNano())
}

// recoverLost gives the shared store back what this gateway knows it may
// have lost: every revocation heard of, then, when the store lost its
// data, the sessions of the hosts connected here; then it marks the store
// restored (admissions that need its revocations answer again). It
// reports whether every revocation is back.
func (st *State) recoverLost(ctx context.Context) bool {
	st.recoverMu.Lock()
	defer st.recoverMu.Unlock()
	if err := st.restoreRevoked(ctx); err != nil {
		st.log().Warn("giving the shared state back its revocations", zap.Error(err))
		return false
	}
	if st.loss.lost {
		if err := st.restoreSessions(ctx); err != nil {
			st.log().Warn("giving the shared state back host sessions", zap.Error(err))
			return true
		}
		st.loss.lost = false
	}
	if err := st.shared.Restored(ctx); err != nil {
		st.log().Warn("marking the shared state's revocations restored", zap.Error(err))
	}
	return true
}

// errUnsure refuses while the store's word may lack what this gateway
// would give it back (State.unsure).
var errUnsure = errors.New("the shared state's event stream is being caught up")

// checkSure fails closed while this gateway is unsure of the store.
func (st *State) checkSure() error {
	if st.unsure.Load() {
		return &cluster.Unavailable{Err: errUnsure}
	}
	return nil
}

// restoreSessions gives the store back the sessions of hosts connected
// here now, with where they are. A session this gateway knows to have
// ended (its id among the revocations) is not given back, and the store
// refuses one another gateway gave back as ended (ErrRevoked): that
// gateway's revocation cuts its connections.
func (st *State) restoreSessions(ctx context.Context) error {
	type held struct {
		s     cluster.Session
		rooms []string
	}
	now := st.clock.Now()
	st.mu.Lock()
	var list []held
	for _, s := range st.sessions {
		if s.conns == 0 || s.ended || !st.revoked[s.id].Before(now) || !now.Before(s.expires) {
			continue
		}
		h := held{s: cluster.Session{ID: s.id, User: s.user, Addr: s.addr, Expires: s.expires, IdP: s.idp}}
		for r, p := range s.rooms {
			if p.conns > 0 {
				h.rooms = append(h.rooms, r)
			}
		}
		list = append(list, h)
	}
	st.mu.Unlock()
	for _, h := range list {
		// A login given back was counted when it was opened: it ends no
		// other (the store may still hold it, and the user's others).
		if _, err := st.shared.OpenSession(ctx, h.s, math.MaxInt32); errors.Is(err, cluster.ErrRevoked) {
			continue
		} else if err != nil {
			return err
		}
		for _, r := range h.rooms {
			if err := st.shared.HostPresent(ctx, r, h.s.ID, st.holder, st.presenceLease()); err != nil && !errors.Is(err, cluster.ErrNotFound) {
				return err
			}
		}
		st.log().Info("gave the shared state back the login of a host in a call", zap.String("user", h.s.User))
	}
	return nil
}

// recentlyLost says whether this gateway noticed, less than a lease ago,
// that the store lost its data: a host login missing from it then is
// answered "try again" rather than "log in again", since the gateway the host is connected through gives it back within a
// third of its lease (its next renewal), or at once when it saw Redis go.
func (st *State) recentlyLost() bool {
	at := st.lostAt.Load()
	return at != 0 && st.clock.Since(time.Unix(0, at)) < st.presenceLease()
}
