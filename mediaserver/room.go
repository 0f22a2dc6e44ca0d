package mediaserver

import (
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/zap"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// Room is one meeting: its peers, the tracks they publish, and its lock.
type Room struct {
	name string
	s    *Server

	mu     sync.Mutex
	peers  map[string]*Peer
	tracks map[*forwardTrack]struct{}
	locked bool
	ended  bool
	// lobby holds the peers waiting to be let in (see lobby.go); passes
	// the ids of the passes admins handed out, until they expire.
	lobby  map[string]*Peer
	passes map[string]time.Time
	// epoch is the placement of the room this node serves, in a cluster
	// (0 outside one); moved is set when the room went to another node.
	epoch int64
	moved bool
	// barred are the rejoin passes of peers an admin removed, until they
	// expire: those passes open no locked door; and their lobby passes,
	// which open no door at all.
	barred map[string]time.Time
	// speaker is who has the floor (speaker.go).
	speaker speakerState
	// chat is the room's last chat messages (chat.go).
	chat []signal.Message
	// owner runs the room, on an open site, since ownerSince (owner.go).
	owner      *Peer
	ownerSince time.Time
	// ownerByPass: the owner brought an owner pass (no other takes the
	// room from them).
	ownerByPass bool
	// entering counts the peers roomFor handed this room that have not
	// joined it, knocked or gone yet: a room someone is on the way into
	// is not forgotten, or they would join a room nobody else can reach.
	entering int
}

// arrivedLocked notes that p, handed this room by roomFor, is no longer on
// the way in (it joined, knocked, or gave up).
func (r *Room) arrivedLocked(p *Peer) {
	if !p.arrived {
		p.arrived = true
		r.entering = max(r.entering-1, 0) // a peer a test made is not counted
	}
}

// entryFailed is for the way into r that roomFor opened and no peer took
// (the WebSocket never opened).
func (r *Room) entryFailed() {
	r.mu.Lock()
	r.entering--
	empty := r.emptyLocked()
	r.mu.Unlock()
	if empty {
		r.s.forget(r)
	}
}

// emptyLocked says whether nobody is in the room, waiting, or on the way in.
func (r *Room) emptyLocked() bool {
	return len(r.peers) == 0 && len(r.lobby) == 0 && r.entering == 0
}

func newRoom(s *Server, name string) *Room {
	return &Room{name: name, s: s, peers: map[string]*Peer{}, tracks: map[*forwardTrack]struct{}{},
		lobby: map[string]*Peer{}, passes: map[string]time.Time{}, barred: map[string]time.Time{}}
}

func isAdmin(role accesstoken.PeerRole) bool {
	return role == accesstoken.PeerHost || role == accesstoken.PeerAdmin
}

// mayEnter says why a peer may not enter, or "" when it may.
func (r *Room) mayEnter(a *accesstoken.Admission) (code, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.ended:
		return "room_ended", "the meeting has ended"
	case a.Role == accesstoken.PeerLobby:
		if len(r.lobby) >= LobbyLimit {
			return "lobby_full", "too many people are waiting to join; try again later"
		}
	case !isAdmin(a.Role) && r.barredLocked(a.TokenID):
		return "invalid_token", "an admin removed you from the room; knock to be let in again"
	case r.locked && !isAdmin(a.Role) && !r.hasPassLocked(a.TokenID) && !r.rejoinsLocked(a.Rejoin):
		return "room_locked", "the room is locked"
	case len(r.peers) >= r.s.cfg.MaxPeersPerRoom:
		return "room_full", "the room is full"
	}
	return "", ""
}

// fence refuses an admission made for an older placement of the room; a
// newer one (the room came back here) becomes the room's.
func (r *Room) fence(epoch int64) (code, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if epoch < r.epoch {
		return codeMoved, "the meeting moved to another server; connecting again"
	}
	r.epoch = epoch
	return "", ""
}

// join adds p and subscribes it to every published track. welcome gets who
// was there, whether the room is locked and its last chat messages, and queues p's welcome while the
// room is still held: nothing about the room (someone else joining, a lock)
// can reach p before it.
func (r *Room) join(p *Peer, welcome func(others []signal.PeerInfo, locked bool, chat []signal.Message)) bool {
	r.mu.Lock()
	r.arrivedLocked(p)
	if r.ended || len(r.peers) >= r.s.cfg.MaxPeersPerRoom {
		r.mu.Unlock()
		return false
	}
	p.joined = r.s.cfg.Clock.Now()
	demoted := r.ownOnJoinLocked(p)
	others := make([]signal.PeerInfo, 0, len(r.peers))
	for _, o := range r.peers {
		others = append(others, o.info())
	}
	for t := range r.tracks {
		r.subscribeLocked(p, t)
	}
	r.peers[p.id] = p
	welcome(others, r.locked, append([]signal.Message(nil), r.chat...))
	r.mu.Unlock()
	if demoted != nil {
		r.tellRole(demoted)
	}
	return true
}

// leave removes p and what it published; the last one out closes the room.
func (r *Room) leave(p *Peer) {
	r.mu.Lock()
	r.arrivedLocked(p)
	if r.lobby[p.id] == p {
		delete(r.lobby, p.id)
		empty := r.emptyLocked()
		r.mu.Unlock()
		r.tellAdminsLobby()
		if empty {
			r.s.forget(r)
		}
		return
	}
	if r.peers[p.id] != p {
		// Never in (it failed on the way): the room may be left empty.
		empty := r.emptyLocked()
		r.mu.Unlock()
		if empty {
			r.s.forget(r)
		}
		return
	}
	delete(r.peers, p.id)
	owner := r.passOnLocked(p)
	if r.speaker.current == p.id {
		r.speaker.current = "" // whoever speaks next is news, even if they spoke before
	}
	var changed []*Peer
	for t := range r.tracks {
		if t.publisher == p {
			changed = append(changed, r.unpublishLocked(t)...)
		}
	}
	empty := r.emptyLocked()
	r.mu.Unlock()
	r.broadcast(signal.Message{Type: signal.TypePeerLeft, Peer: ptr(p.info())}, nil)
	if owner != nil {
		r.tellRole(owner)
	}
	renegotiate(changed)
	if empty {
		r.s.forget(r)
	}
}

// publish adds a track and offers it to everyone else in the room.
func (r *Room) publish(t *forwardTrack) bool {
	r.mu.Lock()
	if r.peers[t.publisher.id] != t.publisher {
		r.mu.Unlock()
		return false
	}
	r.tracks[t] = struct{}{}
	var changed []*Peer
	for _, o := range r.peers {
		if o != t.publisher && r.subscribeLocked(o, t) {
			changed = append(changed, o)
		}
	}
	r.mu.Unlock()
	renegotiate(changed)
	return true
}

// unpublish takes a track away from its subscribers.
func (r *Room) unpublish(t *forwardTrack) {
	r.mu.Lock()
	changed := r.unpublishLocked(t)
	r.mu.Unlock()
	renegotiate(changed)
}

func (r *Room) unpublishLocked(t *forwardTrack) (changed []*Peer) {
	if _, ok := r.tracks[t]; !ok {
		return nil
	}
	delete(r.tracks, t)
	r.s.retired.add(t.local)
	for _, o := range r.peers {
		if s, ok := o.subs[t]; ok {
			delete(o.subs, t)
			o.sub.RemoveTrack(s.sender)
			changed = append(changed, o)
		}
	}
	return changed
}

// subscription is a track a peer receives: the sender it comes through,
// and the SSRC it has there.
type subscription struct {
	sender *webrtc.RTPSender
	ssrc   uint32
}

func (r *Room) subscribeLocked(p *Peer, t *forwardTrack) bool {
	if _, ok := p.subs[t]; ok {
		return false
	}
	s, err := p.sub.AddTrack(t.local)
	if err != nil {
		p.log.Warn("subscribing to a track", zap.Error(err))
		return false
	}
	p.subs[t] = subscription{sender: s, ssrc: senderSSRC(s)}
	go readRTCP(s, t, p)
	return true
}

// startSubscriptions lets the tracks p receives through once its
// connection carries media, each with a keyframe asked for now, which
// reaches p. Called when the connection comes up and after each answer.
func (p *Peer) startSubscriptions() {
	for ft, ssrc := range p.room.subscriptions(p) {
		if b := ft.local.binding(ssrc); b != nil && !b.ready.Swap(true) {
			ft.requestKeyframeWithin(ft.local.keyframeFor(ssrc), startKeyframeInterval)
		}
	}
}

// subscriptions lists the tracks p receives, each with the SSRC p
// receives it with.
func (r *Room) subscriptions(p *Peer) map[*forwardTrack]uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[*forwardTrack]uint32, len(p.subs))
	for t, s := range p.subs {
		out[t] = s.ssrc
	}
	return out
}

func renegotiate(peers []*Peer) {
	for _, p := range peers {
		go p.negotiate()
	}
}

// others returns everyone in the room but p.
func (r *Room) others(p *Peer) []*Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Peer, 0, len(r.peers))
	for _, o := range r.peers {
		if o != p {
			out = append(out, o)
		}
	}
	return out
}

// broadcast sends m to everyone but except.
func (r *Room) broadcast(m signal.Message, except *Peer) {
	for _, o := range r.others(except) {
		o.send(m)
	}
}

// kick removes a peer at an admin's word; its rejoin passes no longer open
// the room, here or on the node the room moves to, and neither does the
// pass it was let in from the lobby with: back in only if an admin lets it
// in again.
func (r *Room) kick(id string) bool {
	r.mu.Lock()
	p := r.peers[id]
	var passes, lobbyPass map[string]time.Time
	if p != nil {
		passes = p.rejoinPasses()
		now := r.s.cfg.Clock.Now()
		for k, exp := range r.barred {
			if now.After(exp) {
				delete(r.barred, k)
			}
		}
		for k, exp := range passes {
			r.barred[k] = exp
		}
		if exp, ok := r.passes[p.tokenID]; ok && p.tokenID != "" {
			delete(r.passes, p.tokenID)
			r.barred[p.tokenID] = exp
			lobbyPass = map[string]time.Time{p.tokenID: exp}
		}
	}
	r.mu.Unlock()
	if p == nil {
		return false
	}
	p.bye(signal.ByeKicked, "an admin removed you from the room")
	r.s.revokePasses(passes)
	if lobbyPass != nil {
		// The gateway cuts at once whatever came in with a revoked token:
		// only once the bye is written, so the person hears why.
		go func() {
			<-p.written
			r.s.revokePasses(lobbyPass)
		}()
	}
	return true
}

// barredLocked says whether tokenID is a lobby pass whose holder an admin
// removed, until the pass expires.
func (r *Room) barredLocked(tokenID string) bool {
	exp, ok := r.barred[tokenID]
	return ok && tokenID != "" && r.s.cfg.Clock.Now().Before(exp)
}

// rejoinsLocked says whether pass lets a peer back into the locked room.
func (r *Room) rejoinsLocked(pass string) bool {
	_, barred := r.barred[pass]
	return pass != "" && !barred
}

// lock shuts the room to new guests, or opens it again.
func (r *Room) lock(locked bool) {
	r.mu.Lock()
	r.locked = locked
	r.mu.Unlock()
	r.s.keepState(r.name, cluster.RoomState{Locked: locked})
	r.broadcast(signal.Message{Type: signal.TypeRoom, Locked: &locked}, nil)
}

// end tells everyone why and closes them all; the name may start afresh.
// It returns the peers it said bye to.
func (r *Room) end(reason, msg string) []*Peer {
	r.mu.Lock()
	r.ended = true
	peers := make([]*Peer, 0, len(r.peers)+len(r.lobby))
	for _, p := range r.peers {
		peers = append(peers, p)
	}
	for _, p := range r.lobby {
		peers = append(peers, p)
	}
	r.mu.Unlock()
	r.s.forget(r)
	for _, p := range peers {
		p.bye(reason, msg)
	}
	return peers
}

func ptr[T any](v T) *T { return &v }
