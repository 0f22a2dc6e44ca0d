package mediaserver

import "sync/atomic"

// Stats are the media server's figures, for metrics.
type Stats struct {
	Rooms            int    // open now
	Peers            int    // in a room now
	Waiting          int    // in a lobby now
	Tracks           int    // published now
	ForwardedPackets uint64 // RTP packets sent to subscribers, one per copy
	ForwardedBytes   uint64 // their payload bytes
	Pins             int    // rooms served under a cluster pin now
	RoomsMoved       uint64 // rooms this node lost to another
	Draining         bool   // the node takes no new room
}

// retired holds the forwarding counts of tracks that ended.
type retired struct{ packets, bytes atomic.Uint64 }

func (r *retired) add(t *fanoutTrack) {
	r.packets.Add(t.sentPackets.Load())
	r.bytes.Add(t.sentBytes.Load())
}

// Stats counts what the server holds now and what it forwarded so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	draining := !s.drain.since.IsZero()
	s.mu.Unlock()
	st := Stats{Rooms: len(rooms), ForwardedPackets: s.retired.packets.Load(), ForwardedBytes: s.retired.bytes.Load(),
		RoomsMoved: s.roomsMoved.Load(), Draining: draining}
	for _, r := range rooms {
		r.mu.Lock()
		st.Peers += len(r.peers)
		st.Waiting += len(r.lobby)
		st.Tracks += len(r.tracks)
		if r.epoch != 0 {
			st.Pins++
		}
		for t := range r.tracks {
			st.ForwardedPackets += t.local.sentPackets.Load()
			st.ForwardedBytes += t.local.sentBytes.Load()
		}
		r.mu.Unlock()
	}
	return st
}
