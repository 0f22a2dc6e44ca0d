package mediaserver

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// DefaultDrainTimeout is how long a draining node lets its rooms end by
// themselves before it moves what is left: within the 30 s Kubernetes
// and most service managers allow a stop, with room for the moves.
const DefaultDrainTimeout = 25 * time.Second

// ErrNotANode refuses a drain of a media server outside a cluster: it has
// nowhere to move its rooms.
var ErrNotANode = errors.New("only a media node of a cluster drains: a lone media server has nowhere to move its rooms")

// drainState is a node's drain. From its start the node's lease says it is
// draining, so no gateway gives it a new room; the rooms on it go on, and
// people still join them, until they end or the deadline passes. The
// Server's mu guards it.
type drainState struct {
	since, deadline time.Time // zero: not draining
	// emptied is closed once the node serves no room while draining.
	emptied chan struct{}
}

// DrainStatus is what a node says of its drain.
type DrainStatus struct {
	Node     string    `json:"node"`
	Draining bool      `json:"draining"`
	Since    time.Time `json:"since,omitzero"`
	// Deadline is when the rooms still here are moved to other nodes.
	Deadline time.Time `json:"deadline,omitzero"`
	Rooms    int       `json:"rooms"`
	Peers    int       `json:"peers"`
	// Stopping: the drain is over; the node has left the cluster and is
	// moving what was left.
	Stopping bool `json:"stopping"`
}

// StartDrain makes this node take no new room, at once: its lease says so
// before StartDrain returns. It reports whether this call started the
// drain (a drain under way, or a closed server, is left as it is).
func (s *Server) StartDrain() (DrainStatus, bool, error) {
	if s.cfg.Node.ID == "" {
		return DrainStatus{}, false, ErrNotANode
	}
	s.mu.Lock()
	started := !s.closed && s.drain.since.IsZero()
	if started {
		now := s.cfg.Clock.Now()
		s.drain = drainState{since: now, deadline: now.Add(max(s.cfg.DrainTimeout, 0)), emptied: make(chan struct{})}
		s.noteEmptiedLocked()
	}
	rooms := len(s.rooms)
	s.mu.Unlock()
	if started {
		s.log.Info("draining: no new rooms; moving what is left at the deadline",
			zap.String("node", s.cfg.Node.ID), zap.Int("rooms", rooms), zap.Duration("timeout", max(s.cfg.DrainTimeout, 0)))
		// Not at the next renewal: a gateway may place a room a second later.
		s.register(context.Background())
	}
	return s.DrainStatus(), started, nil
}

// Drain drains this node (starting the drain unless it is under way) and
// waits until the node serves no room, the drain's deadline passes, or ctx
// ends. Close then moves what is left. Outside a cluster it returns at once.
func (s *Server) Drain(ctx context.Context) {
	if _, _, err := s.StartDrain(); err != nil {
		return
	}
	s.mu.Lock()
	d := s.drain
	s.mu.Unlock()
	if d.emptied == nil {
		return // closed before the drain could start
	}
	wait := s.cfg.Clock.NewTimer(max(d.deadline.Sub(s.cfg.Clock.Now()), 0))
	defer wait.Stop()
	select {
	case <-d.emptied:
		s.log.Info("drained: every room ended", zap.String("node", s.cfg.Node.ID))
	case <-wait.Chan():
		st := s.Stats()
		s.log.Info("drain deadline passed: moving the rooms left", zap.String("node", s.cfg.Node.ID),
			zap.Int("rooms", st.Rooms), zap.Int("peers", st.Peers))
	case <-ctx.Done():
	}
}

// DrainStatus reports the drain, and what the node still serves.
func (s *Server) DrainStatus() DrainStatus {
	st := s.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	return DrainStatus{Node: s.cfg.Node.ID, Draining: !s.drain.since.IsZero(), Since: s.drain.since,
		Deadline: s.drain.deadline, Rooms: st.Rooms, Peers: st.Peers, Stopping: s.closed}
}

// noteEmptiedLocked ends the wait of a drain once no room is left.
func (s *Server) noteEmptiedLocked() {
	if s.drain.emptied == nil || len(s.rooms) > 0 {
		return
	}
	select {
	case <-s.drain.emptied:
	default:
		close(s.drain.emptied)
	}
}
