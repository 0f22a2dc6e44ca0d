package cluster

import (
	"context"
	"errors"
)

// FactsFromSingleCalls answers Facts with the single calls of s: what an
// in-process store does, and what a networked one must agree with.
func FactsFromSingleCalls(ctx context.Context, s Store, q FactsQuery) (Facts, error) {
	var f Facts
	var err error
	if f.Room, err = s.Room(ctx, q.Room); errors.Is(err, ErrNotFound) {
		f.Room, err = nil, nil
	}
	if err != nil {
		return f, err
	}
	if q.Token != "" {
		if f.Revoked, err = s.Revoked(ctx, q.Token); err != nil {
			return f, err
		}
	}
	if q.Rejoin != "" {
		barred, err := s.Revoked(ctx, q.Rejoin)
		f.RejoinBarred = barred || err != nil
	}
	if q.Session != "" {
		switch se, err := s.Session(ctx, q.Session); {
		case err == nil:
			f.Session = &se
		case !errors.Is(err, ErrNotFound):
			return f, err
		}
	}
	if q.Hosted {
		if f.Hosted, err = s.Hosted(ctx, q.Room); err != nil {
			return f, err
		}
	}
	if len(q.Identities) > 0 {
		bans, err := s.Bans(ctx)
		if err != nil {
			return f, err
		}
		f.Banned = BanOf(bans, q.Identities, q.Room)
	}
	return f, nil
}

// BanOf finds, among bans in force, one of identities in room (or in
// every room).
func BanOf(bans []Ban, identities []string, room string) *Ban {
	for i, b := range bans {
		if b.Room != "" && b.Room != room {
			continue
		}
		for _, id := range identities {
			if b.Identity == id {
				return &bans[i]
			}
		}
	}
	return nil
}

// EnterFromSingleCalls answers Enter with the single calls of s.
func EnterFromSingleCalls(ctx context.Context, s Store, room string, choices []string, holder string, places []Place) (Entered, error) {
	var e Entered
	if len(choices) > 0 {
		p, err := s.Pin(ctx, room, choices)
		if err != nil {
			return e, err
		}
		e.Pin = &p
	}
	full, err := s.Take(ctx, holder, places)
	e.Full = full
	return e, err
}

// Facts implements Store; bans are looked up, not listed.
func (m *Memory) Facts(ctx context.Context, q FactsQuery) (Facts, error) {
	ids := q.Identities
	q.Identities = nil
	f, err := FactsFromSingleCalls(ctx, m, q)
	if err != nil {
		return f, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	for _, id := range ids {
		for _, room := range []string{q.Room, ""} {
			if b, ok := m.bans[banKey{id, room}]; ok && (b.Until.IsZero() || now.Before(b.Until)) {
				f.Banned = &b
				return f, nil
			}
		}
	}
	return f, nil
}

type banKey struct{ identity, room string }

// Ban implements Store.
func (m *Memory) Ban(ctx context.Context, b Ban) error {
	m.mu.Lock()
	now := m.clock.Now()
	for k, x := range m.bans {
		if !x.Until.IsZero() && !now.Before(x.Until) {
			delete(m.bans, k)
		}
	}
	k := banKey{b.Identity, b.Room}
	if _, ok := m.bans[k]; !ok && len(m.bans) >= MaxBans {
		m.mu.Unlock()
		return ErrFull
	}
	m.bans[k] = b
	m.mu.Unlock()
	m.publish(Event{Kind: EventBanned, ID: b.Identity, Room: b.Room})
	return nil
}

// Unban implements Store.
func (m *Memory) Unban(ctx context.Context, identity, room string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := banKey{identity, room}
	if _, ok := m.bans[k]; !ok {
		return ErrNotFound
	}
	delete(m.bans, k)
	return nil
}

// Bans implements Store.
func (m *Memory) Bans(ctx context.Context) ([]Ban, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	out := []Ban{}
	for _, b := range m.bans {
		if b.Until.IsZero() || now.Before(b.Until) {
			out = append(out, b)
		}
	}
	return out, nil
}

// Enter implements Store.
func (m *Memory) Enter(ctx context.Context, room string, choices []string, holder string, places []Place) (Entered, error) {
	return EnterFromSingleCalls(ctx, m, room, choices, holder, places)
}
