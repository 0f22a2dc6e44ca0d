package gateway

import (
	"net/netip"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// maxSessionsPerUser bounds one user's concurrent logins; a newer login ends
// the oldest.
const maxSessionsPerUser = 16

// hostSession is one login of one host, bound to the address it came from.
type hostSession struct {
	id      string // the host token's jti
	user    string
	addr    netip.Addr
	expires time.Time
	ended   bool

	conns int                  // established signalling connections
	rooms map[string]*presence // where the host is, or was within the grace
	grace clockwork.Timer      // runs while conns == 0 after the host left
	timer clockwork.Timer      // fires at expires
}

// presence is a host's connections in one room and when the last one ended.
type presence struct {
	conns int
	left  time.Time
}

func (s *hostSession) stopTimers() {
	if s.grace != nil {
		s.grace.Stop()
	}
	if s.timer != nil {
		s.timer.Stop()
	}
}

// openSession starts a session for user from addr, valid until expires.
func (st *State) openSession(id, user string, addr netip.Addr, expires time.Time) *hostSession {
	st.mu.Lock()
	defer st.mu.Unlock()
	if old := st.byUser[user]; len(old) >= maxSessionsPerUser {
		st.endSessionLocked(old[0], "replaced by a newer login")
	}
	s := &hostSession{id: id, user: user, addr: addr.Unmap(), expires: expires, rooms: map[string]*presence{}}
	st.sessions[id] = s
	st.byUser[user] = append(st.byUser[user], s)
	st.allowlist[s.addr]++
	s.timer = st.clock.AfterFunc(expires.Sub(st.clock.Now()), func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		// A host in a call keeps the room until they leave; the token itself
		// can no longer open new connections.
		if s.conns == 0 {
			st.endSessionLocked(s, "login expired")
		}
	})
	st.log().Info("host logged in", zap.String("user", user))
	return s
}

// EndSession ends the session with this id, if it is live.
func (st *State) endSession(id, reason string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.sessions[id]; s != nil {
		st.endSessionLocked(s, reason)
	}
}

// endSessionLocked takes the session's address off the allowlist, closes the
// host's own signalling connections and forgets the session, so its token
// stops working.
func (st *State) endSessionLocked(s *hostSession, reason string) {
	if s.ended {
		return
	}
	s.ended = true
	s.stopTimers()
	delete(st.sessions, s.id)
	list := st.byUser[s.user]
	for i, x := range list {
		if x == s {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(st.byUser, s.user)
	} else {
		st.byUser[s.user] = list
	}
	if st.allowlist[s.addr]--; st.allowlist[s.addr] <= 0 {
		delete(st.allowlist, s.addr)
	}
	for c := range st.conns {
		if c.session == s {
			c.closeLocked()
		}
	}
	st.log().Info("host session ended", zap.String("user", s.user), zap.String("reason", reason))
	if st.sessionEnded != nil {
		st.sessionEnded(s.user, reason)
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

// hostLeftLocked counts a host connection gone; when it was the last, the
// session ends after the grace unless the host comes back.
func (st *State) hostLeftLocked(s *hostSession, room string, grace time.Duration) {
	s.conns--
	now := st.clock.Now()
	if p := s.rooms[room]; p != nil {
		if p.conns--; p.conns == 0 {
			p.left = now
		}
	}
	if s.conns > 0 || s.ended {
		return
	}
	if !now.Before(s.expires) {
		st.endSessionLocked(s, "login expired")
		return
	}
	s.grace = st.clock.AfterFunc(grace, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if s.conns == 0 {
			st.endSessionLocked(s, "host left")
		}
	})
}

// hostedLocked reports whether a host is in room, or left it less than the
// grace ago.
func (st *State) hostedLocked(room string, grace time.Duration) bool {
	now := st.clock.Now()
	for _, s := range st.sessions {
		if p := s.rooms[room]; p != nil && (p.conns > 0 || now.Sub(p.left) < grace) {
			return true
		}
	}
	return false
}
