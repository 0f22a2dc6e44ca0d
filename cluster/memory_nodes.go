package cluster

import (
	"context"
	"slices"
	"strings"
	"time"
)

type memoryNode struct {
	node  Node
	until time.Time
}

type memoryPin struct {
	node  string
	epoch int64
	until time.Time
}

// RegisterNode implements Store.
func (m *Memory) RegisterNode(ctx context.Context, n Node, ttl time.Duration, held map[string]int64) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	m.nodes[n.ID] = memoryNode{node: n, until: now.Add(ttl)}
	var lost []string
	for room, epoch := range held {
		p, ok := m.pins[room]
		switch {
		case ok && (p.node != n.ID || p.epoch != epoch):
			lost = append(lost, room) // it moved
		case !ok || !now.Before(p.until):
			// No pin (the store came back empty, or it lapsed) and no newer
			// placement: the room is the node's again, under its epoch, which
			// the pin keeps so that a later placement gets a larger one.
			m.pins[room] = memoryPin{node: n.ID, epoch: epoch, until: now.Add(PinTTL)}
		}
	}
	slices.Sort(lost)
	return lost, nil
}

// LeaveNode implements Store.
func (m *Memory) LeaveNode(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.nodes, id)
	return nil
}

func (m *Memory) liveNodeLocked(id string, now time.Time) (Node, bool) {
	n, ok := m.nodes[id]
	if ok && !now.Before(n.until) {
		delete(m.nodes, id)
		ok = false
	}
	return n.node, ok
}

// Nodes implements Store.
func (m *Memory) Nodes(ctx context.Context) ([]Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	out := []Node{}
	for id := range m.nodes {
		if n, ok := m.liveNodeLocked(id, now); ok {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Pin implements Store.
func (m *Memory) Pin(ctx context.Context, room string, choices []string) (Pin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	p, pinned := m.pins[room]
	if pinned && now.Before(p.until) {
		if n, ok := m.liveNodeLocked(p.node, now); ok {
			p.until = now.Add(PinTTL)
			m.pins[room] = p
			return Pin{Node: n, Epoch: p.epoch}, nil
		}
	}
	for _, id := range choices {
		n, ok := m.liveNodeLocked(id, now)
		if !ok || n.Draining {
			continue
		}
		epoch := max(now.UnixMicro(), p.epoch+1)
		m.pins[room] = memoryPin{node: id, epoch: epoch, until: now.Add(PinTTL)}
		return Pin{Node: n, Epoch: epoch, Moved: pinned && p.node != ""}, nil
	}
	return Pin{}, ErrNotFound
}

// Unpin implements Store.
func (m *Memory) Unpin(ctx context.Context, room, node string, epoch int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Epochs are times (microseconds), so a later placement still gets a
	// larger one without this record.
	if p, ok := m.pins[room]; ok && p.node == node && p.epoch == epoch {
		delete(m.pins, room)
	}
	return nil
}

// RoomState implements Store.
func (m *Memory) RoomState(ctx context.Context, room string) (RoomState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.roomStates[room]
	if !ok || !m.clock.Now().Before(st.until) {
		delete(m.roomStates, room)
		return RoomState{}, nil
	}
	return st.RoomState, nil
}

// SetRoomState implements Store.
func (m *Memory) SetRoomState(ctx context.Context, room string, st RoomState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st == (RoomState{}) {
		delete(m.roomStates, room)
		return nil
	}
	until := m.clock.Now().Add(PinTTL)
	if st.EndedUntil.After(until) {
		until = st.EndedUntil
	}
	m.roomStates[room] = memoryRoomState{st, until}
	return nil
}

type memoryRoomState struct {
	RoomState
	until time.Time
}

// tokenRecord is one limited token's time in rooms and uses.
type tokenRecord struct {
	left     time.Duration // while no connection is open
	open     int
	deadline time.Time // while one is
	uses     int
	lastEnd  time.Time
	expires  time.Time
}

// TokenJoin implements Store.
func (m *Memory) TokenJoin(ctx context.Context, j TokenJoin) (TokenJoined, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	for k, r := range m.tokens {
		if now.After(r.expires) {
			delete(m.tokens, k)
		}
	}
	r, ok := m.tokens[j.ID]
	if !ok {
		r = &tokenRecord{left: j.EjectAfter, expires: j.Expires}
	}
	var out TokenJoined
	if j.MaxUses > 0 {
		reconnect := j.Reconnect && r.uses > 0 && (r.open > 0 || now.Sub(r.lastEnd) < ReconnectWindow)
		if !reconnect {
			if r.uses >= j.MaxUses {
				return out, ErrUsedUp
			}
			r.uses++
		}
		out.UsesLeft = j.MaxUses - r.uses
	}
	if j.EjectAfter > 0 {
		if r.open == 0 {
			r.deadline = now.Add(r.left)
		}
		out.Deadline = r.deadline
	}
	r.open++
	m.tokens[j.ID] = r
	return out, nil
}

// TokenLeave implements Store.
func (m *Memory) TokenLeave(ctx context.Context, id string, refund bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.tokens[id]
	if !ok || r.open == 0 {
		return nil
	}
	now := m.clock.Now()
	if refund && r.uses > 0 {
		r.uses--
	}
	if r.open--; r.open == 0 {
		r.lastEnd = now
		if !r.deadline.IsZero() {
			r.left = max(0, r.deadline.Sub(now))
		}
	}
	return nil
}

// TokenUses implements Store.
func (m *Memory) TokenUses(ctx context.Context, id string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.tokens[id]; ok {
		return r.uses, nil
	}
	return 0, nil
}
