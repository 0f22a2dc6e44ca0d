package mediaserver

import (
	"context"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// A peer in a room holds a rejoin pass, renewed every half of its life: if
// its connection breaks (the node died, the room moved, the network
// dropped), it connects again with it and is let back in even when the
// room was locked meanwhile.

// newRejoinPass mints a pass for the peer's room and remembers it, so a
// kick can bar it.
func (p *Peer) newRejoinPass() string {
	pass, claims, err := p.s.admissions.MintRejoin(p.room.name, p.tokenID)
	if err != nil {
		p.log.Error("minting a rejoin pass", zap.Error(err))
		return ""
	}
	p.passMu.Lock()
	defer p.passMu.Unlock()
	now := p.s.cfg.Clock.Now()
	for id, exp := range p.passes {
		if now.After(exp) {
			delete(p.passes, id)
		}
	}
	p.passes[claims.ID] = claims.ExpiresAt.Time
	return pass
}

// rejoinPasses are the passes the peer holds now.
func (p *Peer) rejoinPasses() map[string]time.Time {
	p.passMu.Lock()
	defer p.passMu.Unlock()
	out := make(map[string]time.Time, len(p.passes))
	for k, v := range p.passes {
		out[k] = v
	}
	return out
}

// renewRejoinPass hands the peer a fresh pass every half of a pass's life.
func (p *Peer) renewRejoinPass() {
	t := p.s.cfg.Clock.NewTicker(accesstoken.RejoinTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-t.Chan():
			if pass := p.newRejoinPass(); pass != "" {
				p.send(signal.Message{Type: signal.TypePass, Token: pass})
			}
		case <-p.ctx.Done():
			return
		}
	}
}

// revokePasses tells the cluster that these passes open nothing any more,
// so the node a room moves to does not let a removed peer back in.
func (s *Server) revokePasses(passes map[string]time.Time) {
	if s.cfg.Shared == nil || len(passes) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeRenew)
	defer cancel()
	for id, exp := range passes {
		if err := s.cfg.Shared.Revoke(ctx, id, exp); err != nil {
			s.log.Warn("revoking a removed peer's rejoin pass", zap.Error(err))
			return
		}
	}
}
