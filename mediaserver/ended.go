package mediaserver

import (
	"context"
	"time"

	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// An admin's "end for all" ends the meeting for good, not just for the
// people in it: for EndedFor afterwards, only a host or an admin opens the
// room again; anyone else is told room_ended. In a cluster the next node
// knows it too.

// codeEnded refuses a peer who is not an admin into an ended meeting.
const codeEnded = "room_ended"

// endByAdmin ends the meeting and keeps it ended.
func (s *Server) endByAdmin(r *Room, by string) {
	r.end(signal.ByeEnded, "the meeting was ended by "+by)
	until := s.cfg.Clock.Now().Add(s.cfg.EndedFor)
	s.mu.Lock()
	now := s.cfg.Clock.Now()
	for name, t := range s.ended {
		if now.After(t) {
			delete(s.ended, name)
		}
	}
	if len(s.ended) < maxEndedRooms {
		s.ended[r.name] = until
	}
	s.mu.Unlock()
	s.keepState(r.name, cluster.RoomState{EndedUntil: until})
}

// maxEndedRooms bounds the ended meetings one node remembers; beyond it,
// the cluster's record (when there is one) still holds.
const maxEndedRooms = 100_000

// roomStateFor is what a room this node starts serving carries over: its
// lock, and whether an admin ended it; from the cluster, and from this
// node's own memory of meetings it ended.
func (s *Server) roomStateFor(room string) (cluster.RoomState, error) {
	var st cluster.RoomState
	if s.cfg.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), nodeRenew)
		defer cancel()
		var err error
		if st, err = s.cfg.Shared.RoomState(ctx, room); err != nil {
			return st, err
		}
	}
	s.mu.Lock()
	if t, ok := s.ended[room]; ok && t.After(st.EndedUntil) {
		st.EndedUntil = t
	}
	s.mu.Unlock()
	if !s.cfg.Clock.Now().Before(st.EndedUntil) {
		st.EndedUntil = time.Time{}
	}
	return st, nil
}

// reopened forgets that a meeting was ended: a host or an admin opened it.
func (s *Server) reopened(room string) {
	s.mu.Lock()
	delete(s.ended, room)
	s.mu.Unlock()
	s.keepState(room, cluster.RoomState{})
}

// keepState tells the cluster what a room's next node must know.
func (s *Server) keepState(room string, st cluster.RoomState) {
	if s.cfg.Shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeRenew)
	defer cancel()
	if err := s.cfg.Shared.SetRoomState(ctx, room, st); err != nil {
		s.log.Warn("keeping a room's state in the cluster", zap.String("room", room), zap.Error(err))
	}
}
