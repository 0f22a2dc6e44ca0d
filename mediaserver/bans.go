package mediaserver

import (
	"context"
	"strings"
	"time"

	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// banPeer keeps the peer an admin removes out afterwards, by the identity
// the gateway vouched for in its admission: in this room or everywhere,
// for a time or for ever (an address for at most signal.MaxAddressBan).
func (r *Room) banPeer(by *Peer, p *Peer, b *signal.Ban) *protocolError {
	if p == nil {
		return &protocolError{"no_such_peer", "nobody with that id is in the room"}
	}
	if p.identity == "" || r.s.cfg.Shared == nil {
		return &protocolError{"cannot_ban", "this person has no identity to ban"}
	}
	d := time.Duration(b.Seconds) * time.Second
	if strings.HasPrefix(p.identity, "addr:") && (d == 0 || d > signal.MaxAddressBan*time.Second) {
		d = signal.MaxAddressBan * time.Second
	}
	now := r.s.cfg.Clock.Now()
	ban := cluster.Ban{Identity: p.identity, By: by.name, Created: now, Reason: "removed by an admin"}
	if !b.Everywhere {
		ban.Room = r.name
	}
	if d > 0 {
		ban.Until = now.Add(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeRenew)
	defer cancel()
	if err := r.s.cfg.Shared.Ban(ctx, ban); err != nil {
		r.s.log.Warn("banning a removed peer", zap.Error(err))
		return &protocolError{"cannot_ban", "the ban could not be kept; the person was not removed"}
	}
	r.s.emit("participant.banned", r.name, map[string]any{"identity": ban.Identity, "until": ban.Until, "by": by.name})
	by.audit("participant.banned", zap.String("target", p.id), zap.String("identity", ban.Identity),
		zap.String("scope_room", ban.Room), zap.Time("until", ban.Until))
	return nil
}

// peer is the peer with this id in the room, or nil.
func (r *Room) peer(id string) *Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[id]
}

// keepOut bans someone turned away from the lobby from knocking on room
// again for DeniedFor.
func (s *Server) keepOut(p *Peer, room, by string) {
	if p.identity == "" || s.cfg.Shared == nil || s.cfg.DeniedFor <= 0 {
		return
	}
	now := s.cfg.Clock.Now()
	ctx, cancel := context.WithTimeout(context.Background(), nodeRenew)
	defer cancel()
	if err := s.cfg.Shared.Ban(ctx, cluster.Ban{Identity: p.identity, Room: room, Until: now.Add(s.cfg.DeniedFor),
		Reason: "turned away from the lobby", By: by, Created: now}); err != nil {
		s.log.Warn("keeping a turned-away knocker out", zap.Error(err))
	}
}
