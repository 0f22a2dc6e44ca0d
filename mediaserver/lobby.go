package mediaserver

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// The lobby holds people who asked to join a private room with
// enableRequestToJoin. They have a signalling connection and nothing else:
// no peer connections, no view of the room. When an admin lets one in, the
// server hands it a short-lived pass, a peer token for the room, and closes
// the lobby connection; the peer connects again through the gateway with
// the pass, so the gateway sees a member of the room like any other
// (capacity, participants, revocation) and nothing is promoted in place.
const (
	// LobbyLimit is how many may wait in one room's lobby at once.
	LobbyLimit = 50
	// lobbyPassTTL is how long an admitted peer has to come back.
	lobbyPassTTL = 2 * time.Minute
	// DefaultLobbyWait is how long a knock waits for an answer before it
	// is told that nobody answered.
	DefaultLobbyWait = 10 * time.Minute
	// DefaultDeniedFor is how long someone turned away may not knock on
	// the same room again.
	DefaultDeniedFor = 10 * time.Minute
)

var errNotAdmitted = &protocolError{"not_admitted", "you are waiting to be let in"}

// runLobby serves a lobby peer until an admin decides or it leaves.
func (p *Peer) runLobby() {
	if !p.room.knock(p) {
		p.bye(signal.ByeEnded, "the meeting has ended")
		<-p.ctx.Done()
		return
	}
	// The lobby peer learns who it is and nothing about the room.
	p.send(signal.Message{Type: signal.TypeWelcome, Room: p.room.name, Peer: ptr(p.info())})
	// A knock nobody answers does not wait for ever.
	t := p.s.cfg.Clock.AfterFunc(p.s.cfg.LobbyWait, func() {
		if p.room.leaveLobby(p) {
			p.bye(signal.ByeUnanswered, "nobody let you in; knock again later")
		}
	})
	defer t.Stop()
	go p.keepAlive()
	p.readLoop()
}

// handleLobby answers a lobby peer's messages: only a ping is allowed.
func (p *Peer) handleLobby(m *signal.Message) error {
	if m.Type == signal.TypePing {
		p.send(signal.Message{Type: signal.TypePong})
		return nil
	}
	return errNotAdmitted
}

// knock puts p in the lobby and tells the admins.
func (r *Room) knock(p *Peer) bool {
	r.mu.Lock()
	r.arrivedLocked(p)
	if r.ended || len(r.lobby) >= LobbyLimit {
		r.mu.Unlock()
		return false
	}
	r.lobby[p.id] = p
	r.mu.Unlock()
	r.tellAdminsLobby()
	r.s.emit("lobby.knocked", r.name, map[string]any{"peer": p.id, "name": p.name})
	return true
}

// lobbyInfo lists who is waiting, oldest first is not promised.
func (r *Room) lobbyInfoLocked() []signal.PeerInfo {
	out := make([]signal.PeerInfo, 0, len(r.lobby))
	for _, w := range r.lobby {
		out = append(out, w.info())
	}
	return out
}

// tellAdminsLobby sends every admin the lobby as it is now.
func (r *Room) tellAdminsLobby() {
	r.mu.Lock()
	m := signal.Message{Type: signal.TypeLobby, Peers: r.lobbyInfoLocked()}
	var admins []*Peer
	for _, o := range r.peers {
		if o.mayAdmin() {
			admins = append(admins, o)
		}
	}
	r.mu.Unlock()
	for _, a := range admins {
		a.send(m)
	}
}

// decide lets a waiting peer in or turns it away.
func (r *Room) decide(by *Peer, target string, admit bool) error {
	r.mu.Lock()
	w := r.lobby[target]
	if w == nil {
		r.mu.Unlock()
		return &protocolError{"no_such_peer", "nobody with that id is waiting"}
	}
	delete(r.lobby, target)
	var pass string
	if admit {
		var err error
		if pass, err = r.mintPassLocked(w); err != nil {
			r.lobby[target] = w
			r.mu.Unlock()
			by.log.Error("minting a lobby pass", zap.Error(err))
			return &protocolError{"internal", "the pass could not be made"}
		}
	}
	r.mu.Unlock()
	r.tellAdminsLobby()
	if admit {
		w.byeWith(signal.Message{Type: signal.TypeBye, Reason: signal.ByeAdmitted,
			Message: by.name + " let you in", Token: pass})
		r.s.emit("lobby.admitted", r.name, map[string]any{"peer": w.id, "name": w.name, "by": by.name})
		return nil
	}
	r.s.emit("lobby.denied", r.name, map[string]any{"peer": w.id, "name": w.name, "by": by.name})
	w.bye(signal.ByeDenied, "your request to join was turned down")
	// Turned away, they do not knock again at once: a short ban of who
	// they are, from this room.
	r.s.keepOut(w, r.name, by.name)
	return nil
}

// leaveLobby takes p out of the lobby; false when it was no longer there
// (an admin decided first).
func (r *Room) leaveLobby(p *Peer) bool {
	r.mu.Lock()
	waiting := r.lobby[p.id] == p
	delete(r.lobby, p.id)
	r.mu.Unlock()
	if waiting {
		r.tellAdminsLobby()
	}
	return waiting
}

// mintPassLocked makes the peer token an admitted lobby peer comes back
// with, and remembers it so the room's lock does not shut it out.
func (r *Room) mintPassLocked(w *Peer) (string, error) {
	now := r.s.cfg.Clock.Now()
	tok, c, err := r.s.issuer.Mint(accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(lobbyPassTTL))},
		Role:             accesstoken.RolePeer,
		Room:             r.name,
		Name:             w.name,
	})
	if err != nil {
		return "", err
	}
	for id, exp := range r.passes {
		if now.After(exp) {
			delete(r.passes, id)
		}
	}
	r.passes[c.ID] = c.ExpiresAt.Add(accesstoken.Leeway)
	return tok, nil
}

// hasPassLocked says whether tokenID is a pass an admin handed out here.
func (r *Room) hasPassLocked(tokenID string) bool {
	exp, ok := r.passes[tokenID]
	return ok && tokenID != "" && r.s.cfg.Clock.Now().Before(exp)
}
