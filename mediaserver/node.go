package mediaserver

import (
	"context"
	"time"

	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// In a cluster, a node's lease lasts nodeLease and is renewed every
// nodeRenew: a node that died (or froze) loses its rooms to the next join
// within nodeLease, and one that comes back learns at its next renewal
// which rooms moved, and ends its copy of them.
const (
	nodeLease = 3 * time.Second
	nodeRenew = time.Second
)

// register renews this node's lease, tells the cluster its load, and ends
// the rooms it no longer holds.
func (s *Server) register(ctx context.Context) {
	s.registerMu.Lock()
	defer s.registerMu.Unlock()
	held := map[string]int64{}
	load := 0
	s.mu.Lock()
	if s.closed {
		// Leaving, or left: a lease written now would send rooms back here.
		s.mu.Unlock()
		return
	}
	draining := !s.drain.since.IsZero()
	rooms := make(map[string]*Room, len(s.rooms))
	for name, r := range s.rooms {
		rooms[name] = r
	}
	s.mu.Unlock()
	for name, r := range rooms {
		r.mu.Lock()
		if r.epoch != 0 {
			held[name] = r.epoch
		}
		load += len(r.peers)
		r.mu.Unlock()
	}
	n := s.cfg.Node
	n.Load, n.Draining = load, draining
	ctx, cancel := context.WithTimeout(ctx, nodeRenew)
	defer cancel()
	lost, err := s.cfg.Shared.RegisterNode(ctx, n, nodeLease, held)
	if err != nil {
		s.log.Warn("renewing this node's lease", zap.Error(err))
		return
	}
	for _, name := range lost {
		if r := rooms[name]; r != nil {
			s.log.Info("room moved to another node", zap.String("room", name))
			s.roomsMoved.Add(1)
			r.mu.Lock()
			r.moved = true
			r.mu.Unlock()
			r.end(signal.ByeMoved, "the meeting moved to another server; connecting again")
		}
	}
}

// runNode keeps this node registered until ctx ends, then leaves the
// cluster at once so that its rooms move on the next join.
func (s *Server) runNode(ctx context.Context) {
	t := s.cfg.Clock.NewTicker(nodeRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.leave()
			return
		case <-t.Chan():
			s.register(ctx)
		}
	}
}

// leave forgets this node in the cluster, after any lease write under way.
func (s *Server) leave() {
	s.registerMu.Lock()
	defer s.registerMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.cfg.Shared.LeaveNode(ctx, s.cfg.Node.ID); err != nil {
		s.log.Warn("leaving the cluster", zap.Error(err))
	}
}

// released tells the cluster that a room this node served is over here:
// its pin goes, and, unless it moved, its lock.
func (s *Server) released(r *Room) {
	r.mu.Lock()
	epoch, moved, locked := r.epoch, r.moved, r.locked
	r.mu.Unlock()
	if s.cfg.Shared == nil || moved {
		return
	}
	if epoch != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), nodeRenew)
		defer cancel()
		if err := s.cfg.Shared.Unpin(ctx, r.name, s.cfg.Node.ID, epoch); err != nil {
			s.log.Warn("unpinning a room", zap.Error(err))
		}
	}
	if locked {
		s.keepState(r.name, cluster.RoomState{})
	}
}
