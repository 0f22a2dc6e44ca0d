package mediaserver

import (
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// Owners of open rooms (docs/gateway.md, "Owners of open rooms"). On a
// site where anyone may start any room, the gateway marks the guests who
// may run one (Admission.MayOwn); here the room makes one of them its
// owner, with an admin's rights in this room only:
//
//   - the first such peer in, while no host or admin (by credential) is in;
//   - a peer whose owner pass was issued before the owner became owner,
//     when that owner brought none: the start page's creator takes the
//     room back from someone who raced in between asking for it and
//     arriving. An owner who brought a pass keeps the room: anyone may ask
//     for a pass for any name, and an older one must not take a meeting
//     from the person who started it;
//   - when the owner leaves, the one of them in the room longest;
//   - a host or admin arriving ends the ownership (a credential wins over
//     being first); when the last of them leaves, ownership is given as
//     when an owner leaves.
//
// The room's owner is guarded by r.mu; a peer's owner flag is atomic, so
// its message handling reads it without the room's lock.

// PeerOwner is the role an owner is shown with; its admission says guest.
const PeerOwner = "owner"

// mayAdmin says whether p may do what hosts and admins do in its room.
func (p *Peer) mayAdmin() bool { return isAdmin(p.role) || p.owner.Load() }

// roleNow is the role p is shown and audited with.
func (p *Peer) roleNow() string {
	if p.owner.Load() {
		return PeerOwner
	}
	return string(p.role)
}

// credentialAdminLocked says whether a host or an admin is in the room.
func (r *Room) credentialAdminLocked() bool {
	for _, o := range r.peers {
		if isAdmin(o.role) {
			return true
		}
	}
	return false
}

// setOwnerLocked makes p the owner (nil: nobody) and returns the one who
// was.
func (r *Room) setOwnerLocked(p *Peer, now time.Time) *Peer {
	old := r.owner
	if old != nil {
		old.owner.Store(false)
	}
	r.owner, r.ownerSince, r.ownerByPass = p, now, false
	if p != nil {
		p.owner.Store(true)
		r.ownerByPass = !p.ownerPass.IsZero()
	}
	return old
}

// ownOnJoinLocked decides, as p joins (before its welcome), whether it
// becomes the owner; it returns whoever lost the ownership to it, whose
// new role the room must hear.
func (r *Room) ownOnJoinLocked(p *Peer) *Peer {
	now := r.s.cfg.Clock.Now()
	switch {
	case isAdmin(p.role):
		if r.owner != nil {
			return r.setOwnerLocked(nil, now)
		}
	case !p.mayOwn || r.credentialAdminLocked():
	case r.owner == nil:
		r.setOwnerLocked(p, now)
	case !p.ownerPass.IsZero() && !r.ownerByPass && r.ownerSince.After(p.ownerPass):
		return r.setOwnerLocked(p, now)
	}
	return nil
}

// passOnLocked, as p leaves (already out of r.peers), gives the room a
// new owner if p was its owner or the last host or admin in it: the peer
// that may own it and has been in it longest. It returns the new owner.
func (r *Room) passOnLocked(p *Peer) *Peer {
	wasOwner := r.owner == p
	if !wasOwner && !isAdmin(p.role) {
		return nil
	}
	if wasOwner {
		r.owner = nil
		p.owner.Store(false)
	}
	if r.owner != nil || r.credentialAdminLocked() {
		return nil
	}
	var next *Peer
	for _, o := range r.peers {
		if o.mayOwn && (next == nil || o.joined.Before(next.joined) || (o.joined.Equal(next.joined) && o.id < next.id)) {
			next = o
		}
	}
	if next != nil {
		r.setOwnerLocked(next, r.s.cfg.Clock.Now())
	}
	return next
}

// tellRole tells everyone in the room (p included) p's role now; a new
// owner also learns who waits in the lobby.
func (r *Room) tellRole(p *Peer) {
	m := signal.Message{Type: signal.TypeRole, Peer: ptr(p.info())}
	p.send(m)
	r.broadcast(m, p)
	if p.owner.Load() {
		r.tellAdminsLobby()
	}
}

// ownerPassTime is when the admission's owner pass was issued (zero: none).
func ownerPassTime(a *accesstoken.Admission) time.Time {
	if !a.MayOwn || a.OwnerPassMillis <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(a.OwnerPassMillis)
}
