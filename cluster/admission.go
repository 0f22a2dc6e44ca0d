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
	return f, nil
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

// Facts implements Store.
func (m *Memory) Facts(ctx context.Context, q FactsQuery) (Facts, error) {
	return FactsFromSingleCalls(ctx, m, q)
}

// Enter implements Store.
func (m *Memory) Enter(ctx context.Context, room string, choices []string, holder string, places []Place) (Entered, error) {
	return EnterFromSingleCalls(ctx, m, room, choices, holder, places)
}
