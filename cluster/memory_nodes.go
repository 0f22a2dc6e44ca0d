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
		if p, ok := m.pins[room]; !ok || p.node != n.ID || p.epoch != epoch || !now.Before(p.until) {
			lost = append(lost, room)
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
		if !ok {
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

// ejectClock is one token's time in rooms.
type ejectClock struct {
	left     time.Duration // while no connection is open
	open     int
	deadline time.Time // while one is
	expires  time.Time
}

// EjectStart implements Store.
func (m *Memory) EjectStart(ctx context.Context, id string, limit time.Duration, expires time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	for k, c := range m.clocks {
		if now.After(c.expires) {
			delete(m.clocks, k)
		}
	}
	c, ok := m.clocks[id]
	if !ok {
		c = &ejectClock{left: limit, expires: expires}
		m.clocks[id] = c
	}
	if c.open == 0 {
		c.deadline = now.Add(c.left)
	}
	c.open++
	return c.deadline, nil
}

// EjectStop implements Store.
func (m *Memory) EjectStop(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clocks[id]
	if !ok || c.open == 0 {
		return nil
	}
	if c.open--; c.open == 0 {
		c.left = max(0, c.deadline.Sub(m.clock.Now()))
	}
	return nil
}
