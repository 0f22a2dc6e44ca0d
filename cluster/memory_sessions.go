package cluster

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Host sessions and revocations, in one process.

// OpenSession implements Store.
func (m *Memory) OpenSession(ctx context.Context, s Session, maxPerUser int) ([]string, error) {
	m.mu.Lock()
	now := m.clock.Now()
	if m.revoked[s.ID].After(now) {
		m.mu.Unlock()
		return nil, ErrRevoked
	}
	var ended []Event
	ids := m.liveSessionsLocked(s.User, now)
	for len(ids) >= maxPerUser && len(ids) > 0 {
		id := ids[0] // endSessionLocked shifts ids
		old, _ := m.endSessionLocked(id)
		ended = append(ended, Event{ID: id, Until: m.tombstoneLocked(old, now)})
		ids = m.byUser[s.User]
	}
	if _, again := m.sessions[s.ID]; !again {
		m.byUser[s.User] = append(m.byUser[s.User], s.ID)
	}
	m.sessions[s.ID] = s
	m.mu.Unlock()
	var endedIDs []string
	for _, e := range ended {
		endedIDs = append(endedIDs, e.ID)
		m.publish(Event{Kind: EventSessionEnded, ID: e.ID, Reason: "replaced by a newer login", Until: e.Until})
	}
	return endedIDs, nil
}

// liveSessionsLocked returns user's live sessions. An expired session
// leaves the count, but stays (with its presence) until it is ended or
// SessionKeep has passed: a host whose login expires during a call keeps
// the room until they leave.
func (m *Memory) liveSessionsLocked(user string, now time.Time) []string {
	ids := slices.DeleteFunc(m.byUser[user], func(id string) bool {
		s, ok := m.sessions[id]
		return !ok || !now.Before(s.Expires)
	})
	if len(ids) == 0 {
		delete(m.byUser, user)
	} else {
		m.byUser[user] = ids
	}
	for id, s := range m.sessions {
		if now.After(s.Expires.Add(SessionKeep)) {
			m.endSessionLocked(id)
		}
	}
	return ids
}

func (m *Memory) endSessionLocked(id string) (Session, bool) {
	s, ok := m.sessions[id]
	delete(m.sessions, id)
	if !ok {
		return s, false
	}
	ids := slices.DeleteFunc(m.byUser[s.User], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(m.byUser, s.User)
	} else {
		m.byUser[s.User] = ids
	}
	for k := range m.presence {
		if k.sess == id {
			delete(m.presence, k)
		}
	}
	return s, true
}

// Session implements Store.
func (m *Memory) Session(ctx context.Context, id string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || !m.clock.Now().Before(s.Expires) {
		return Session{}, ErrNotFound
	}
	return s, nil
}

// IdPSessions implements Store by looking at every session: a Memory
// holds one process's logins, a few at most.
func (m *Memory) IdPSessions(ctx context.Context, issuer, subject, sid string) ([]Session, error) {
	if subject == "" && sid == "" {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []Session
	for _, s := range m.sessions {
		if s.IdP.Names(issuer, subject, sid) {
			found = append(found, s)
		}
	}
	slices.SortFunc(found, func(a, b Session) int { return strings.Compare(a.ID, b.ID) })
	return found, nil
}

// EndSession implements Store.
func (m *Memory) EndSession(ctx context.Context, id, reason string) error {
	m.mu.Lock()
	s, ok := m.endSessionLocked(id)
	var until time.Time
	if ok {
		until = m.tombstoneLocked(s, m.clock.Now())
	}
	m.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	m.publish(Event{Kind: EventSessionEnded, ID: id, Reason: reason, Until: until})
	return nil
}

// tombstoneLocked keeps an ended session's id among the revocations until
// its login would have expired (EndSession says why), and returns that
// time (zero when it had expired already). Outside MaxRevoked: a logout
// must not fail because the API filled the list.
func (m *Memory) tombstoneLocked(s Session, now time.Time) time.Time {
	if !s.Expires.After(now) {
		return time.Time{}
	}
	if s.Expires.After(m.revoked[s.ID]) {
		m.revoked[s.ID] = s.Expires
	}
	return s.Expires
}

// Revoke implements Store.
func (m *Memory) Revoke(ctx context.Context, id string, expires time.Time) error {
	m.mu.Lock()
	now := m.clock.Now()
	if !expires.After(now) {
		m.mu.Unlock()
		return nil // it works nowhere already
	}
	if _, ok := m.revoked[id]; !ok && len(m.revoked) >= MaxRevoked {
		for k, e := range m.revoked {
			if !e.After(now) {
				delete(m.revoked, k)
			}
		}
		if len(m.revoked) >= MaxRevoked {
			m.mu.Unlock()
			return ErrFull
		}
	}
	m.revoked[id] = expires
	m.mu.Unlock()
	m.publish(Event{Kind: EventRevoked, ID: id, Until: expires})
	return nil
}

// Revoked implements Store.
func (m *Memory) Revoked(ctx context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.revoked[id]
	return ok && e.After(m.clock.Now()), nil
}

// Restored implements Store: a Memory loses nothing while it lives.
func (m *Memory) Restored(ctx context.Context) error { return nil }

// Incarnation implements Store: a Memory's data lasts as long as it does.
func (m *Memory) Incarnation(ctx context.Context) (string, error) { return m.incarnation, nil }
