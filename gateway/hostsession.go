package gateway

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"go.uber.org/zap"
)

// presenceForever is the lease of a host's presence when nothing can
// outlive this process: it lasts until the gateway lets go.
const presenceForever = 100 * 365 * 24 * time.Hour

// hostSession is one login of one host, as this gateway holds it while the
// host has signalling connections here (and for the grace after the last).
// The login itself, bound to the address it came from, lives in the shared
// store.
type hostSession struct {
	id      string // the host token's jti
	user    string
	addr    netip.Addr
	expires time.Time
	idp     *cluster.IdPLogin // an OpenID Connect login's identity; nil: a password's
	ended   bool

	conns int                  // established signalling connections here
	rooms map[string]*presence // where the host is, or was within the grace
	grace clockwork.Timer      // runs while conns == 0 after the host left
}

// presence is a host's connections in one room.
type presence struct {
	conns int
}

func (s *hostSession) stopTimers() {
	if s.grace != nil {
		s.grace.Stop()
	}
}

// endSession ends a login on every gateway: its address leaves the
// allowlist and every gateway cuts the host's connections when it hears.
func (st *State) endSession(ctx context.Context, id, reason string) error {
	return hostlogin.EndSession(ctx, st.shared, id, reason)
}

// localSessionLocked returns this gateway's record of a live session,
// making it on the host's first connection here.
func (st *State) localSessionLocked(cs cluster.Session) *hostSession {
	s := st.sessions[cs.ID]
	if s == nil {
		s = &hostSession{id: cs.ID, user: cs.User, addr: cs.Addr, expires: cs.Expires, idp: cs.IdP, rooms: map[string]*presence{}}
		st.sessions[cs.ID] = s
	}
	return s
}

// sessionEndedLocked applies an ended session here: the host's signalling
// connections close and the record goes.
func (st *State) sessionEndedLocked(id, reason string) {
	st.cuts.Add(1)
	if s := st.sessions[id]; s != nil {
		s.ended = true
		s.stopTimers()
		delete(st.sessions, id)
		for c := range st.conns {
			if c.session == s {
				c.closeLocked(cutSessionEnded)
			}
		}
	}
	st.log().Info("host session ended", zap.String("reason", reason))
	if st.sessionEnded != nil {
		st.sessionEnded(reason)
	}
}

// hostArrivedLocked counts an established host connection in room.
func (st *State) hostArrivedLocked(s *hostSession, room string) {
	s.conns++
	p := s.rooms[room]
	if p == nil {
		p = &presence{}
		s.rooms[room] = p
	}
	p.conns++
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
}

// hostPresent tells the shared store that the host is in room, for as long
// as this gateway's word lasts. It reports whether the store no longer
// knows the session (it ended elsewhere, or the store lost it).
func (st *State) hostPresent(s *hostSession, room string, ttl time.Duration) (unknown bool) {
	ctx, cancel := st.sharedCtx(context.Background())
	defer cancel()
	err := st.shared.HostPresent(ctx, room, s.id, st.holder, ttl)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		st.log().Warn("recording a host's presence", zap.Error(err))
	}
	return errors.Is(err, cluster.ErrNotFound)
}

func (st *State) presenceLease() time.Duration {
	if st.lease == 0 {
		return presenceForever
	}
	return st.lease
}

// hostLeftLocked counts a host connection gone. It returns what to tell
// the shared store once the lock is let go: the room stays hosted for the
// grace, and when this was the host's last connection here, the session
// ends after the grace unless the host comes back (here or elsewhere).
func (st *State) hostLeftLocked(s *hostSession, room string, grace time.Duration) func() {
	s.conns--
	var after []func()
	if p := s.rooms[room]; p != nil {
		if p.conns--; p.conns == 0 && !s.ended {
			after = append(after, func() { st.hostPresent(s, room, max(grace, time.Millisecond)) })
		}
	}
	if s.conns == 0 && !s.ended {
		if !st.clock.Now().Before(s.expires) {
			after = append(after, func() { st.endSessionQuietly(s.id, "login expired") })
		} else {
			s.grace = st.clock.AfterFunc(grace, func() { st.graceOver(s) })
		}
	}
	return func() {
		for _, f := range after {
			f()
		}
	}
}

// graceOver runs when a host has had no connection here for the grace: this
// gateway lets go of the host's rooms, and the session ends unless the
// host is connected through another gateway.
func (st *State) graceOver(s *hostSession) {
	st.mu.Lock()
	if s.conns > 0 || s.ended {
		st.mu.Unlock()
		return
	}
	rooms := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		rooms = append(rooms, r)
	}
	st.mu.Unlock()

	ctx, cancel := st.sharedCtx(context.Background())
	defer cancel()
	for _, r := range rooms {
		if err := st.shared.HostGone(ctx, r, s.id, st.holder); err != nil {
			st.log().Warn("letting go of a host's presence", zap.Error(err))
		}
	}
	elsewhere, err := st.shared.SessionPresent(ctx, s.id)
	if err != nil {
		st.log().Warn("asking where a host is", zap.Error(err))
	}
	if err == nil && !elsewhere {
		st.endSessionQuietly(s.id, "host left")
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.conns == 0 && st.sessions[s.id] == s {
		delete(st.sessions, s.id)
	}
}

// endSessionQuietly ends a session from a timer, logging what fails.
func (st *State) endSessionQuietly(id, reason string) {
	ctx, cancel := st.sharedCtx(context.Background())
	defer cancel()
	if err := st.endSession(ctx, id, reason); err != nil {
		st.log().Warn("ending a host session", zap.String("reason", reason), zap.Error(err))
	}
}

// renewHolder renews this gateway's lease on the places it holds.
func (st *State) renewHolder(ctx context.Context) {
	ctx, cancel := st.sharedCtx(ctx)
	defer cancel()
	if err := st.shared.RenewHolder(ctx, st.holder, st.lease); err != nil {
		st.log().Warn("renewing this gateway's lease", zap.Error(err))
	}
}

// renewPresence renews, every third of the lease, this gateway's lease on
// its places and its word that its connected hosts are in their rooms. A
// store that lost its data, or no longer knows a session connected here,
// is checked against everything this gateway holds (resync).
func (st *State) renewPresence(ctx context.Context) {
	t := st.clock.NewTicker(st.lease / 3)
	defer t.Stop()
	st.noticeLoss(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		st.renewHolder(ctx)
		st.recountPlaces(ctx)
		type held struct {
			s    *hostSession
			room string
		}
		var list []held
		st.mu.Lock()
		for _, s := range st.sessions {
			for r, p := range s.rooms {
				if p.conns > 0 && !s.ended {
					list = append(list, held{s, r})
				}
			}
		}
		st.mu.Unlock()
		// A resync that failed to give the store back its revocations
		// leaves this gateway unsure (admitting nobody): try again.
		check := st.noticeLoss(ctx) || st.unsure.Load()
		for _, h := range list {
			if st.hostPresent(h.s, h.room, st.lease) {
				st.suspectLoss("the shared state does not know the login of a host in a call here; giving back what this gateway knows")
				check = true
			}
		}
		if check {
			st.resync()
		}
	}
}
