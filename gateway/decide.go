package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
)

// The rules: who may enter a room, given what the shared store says now.
// POST /api/v1/explain traces the same functions.

// entry is the gateway's decision for one signalling request.
type entry struct {
	role    accesstoken.PeerRole
	session *cluster.Session // a host's login
	pin     *cluster.Pin     // the media node the room is on, with PinRooms
	rejoin  string           // a rejoin pass's id, when it counts
	// identity is who the person verifiably is, for bans (bans.go);
	// identities every name a ban may give them, identity first.
	identity   string
	identities []string
	// tokenRecord is the token whose limits (time in rooms, uses) this
	// connection counts against ("" when it has none); reconnect says the
	// person showed a rejoin pass for that token.
	tokenRecord string
	reconnect   bool
	claims      *accesstoken.Claims // nil when the person came without a token
	// mayOwn: the room may be this person's to run (docs/gateway.md,
	// "Owners of open rooms"); the media server decides whether it is.
	mayOwn  bool
	name    string
	early   bool // in the lobby for having come before the host (early.go)
	ejectAt time.Time
}

// decide applies, with what the shared store says now, the rules about the
// person, and reads the room's properties (nil when it is not an API room).
// rejoin is the id of a rejoin pass whose signature was checked; it counts
// unless it was barred. early says the browser brings its pass for having
// come before the host (early.go). Refused host_absent, it still returns
// the room, whose admitEarlyArrivals the check tells the waiting page.
func (g *Gateway) decide(ctx context.Context, addr netip.Addr, room, name string, c *accesstoken.Claims, rejoin *accesstoken.Rejoin, early bool, tr *trace) (entry, *Room, *refusal) {
	st := g.state
	ctx, cancel := st.sharedCtx(ctx)
	defer cancel()
	ids := identitiesOf(addr, c)
	identity := ids[0]
	q := cluster.FactsQuery{Room: room, Identities: ids}
	if rejoin != nil {
		q.Rejoin = rejoin.ID
	}
	switch {
	case c == nil:
		q.Hosted = g.cfg.HostProtected && !g.cfg.UserAuth
	case c.Role == accesstoken.RoleHost:
		// An ended session's id is among the revocations (storelost.go).
		q.Session, q.Token = c.ID, c.ID
	default:
		q.Token = c.ID
	}
	tr.at("shared_state")
	err := st.checkSure()
	var f cluster.Facts
	if err == nil {
		f, err = st.shared.Facts(ctx, q)
	}
	if err != nil {
		st.sharedReset(err)
		return entry{}, nil, sharedRefusal(err)
	}
	tr.at("ban")
	if f.Banned != nil {
		return entry{}, nil, banRefusal(f.Banned)
	}
	e, rf := g.decidePerson(ctx, addr, room, name, c, f, tr)
	if rf != nil {
		if rf.Code == "host_absent" {
			r, _ := st.roomOf(room, f.Room)
			return e, r, rf
		}
		return e, nil, rf
	}
	e.identity, e.identities = identity, ids
	if rejoin != nil && !f.RejoinBarred {
		e.rejoin = rejoin.ID
		e.reconnect = c != nil && rejoin.TokenID == c.ID
	}
	r, err := st.roomOf(room, f.Room)
	if err != nil {
		return e, nil, sharedRefusal(err)
	}
	tr.at("room_exists")
	if r == nil && g.cfg.RequireRooms {
		return e, nil, refuse(http.StatusNotFound, "no_such_room", "there is no room of that name")
	}
	// On an open site anyone may start any room, so someone must be able
	// to run it: a guest without credentials in a room nobody made through
	// the API (whose maker hands out admin tokens instead).
	e.mayOwn = c == nil && e.role == accesstoken.PeerGuest && r == nil && !g.cfg.HostProtected && !g.cfg.UserAuth
	if c == nil && g.cfg.HostProtected && (r == nil || !r.AdmitEarlyArrivals) {
		tr.at("early_arrival")
		if early {
			e.role, e.early = accesstoken.PeerLobby, true
		}
	}
	return e, r, nil
}

func (g *Gateway) decidePerson(ctx context.Context, addr netip.Addr, room, name string, c *accesstoken.Claims, f cluster.Facts, tr *trace) (entry, *refusal) {
	switch {
	case c == nil:
		tr.at("user_auth")
		if g.cfg.UserAuth {
			return entry{}, refuse(http.StatusUnauthorized, "credentials_required", "log in or use a link with a token to join")
		}
		tr.at("host_present")
		if g.cfg.HostProtected && !f.Hosted {
			return entry{}, refuse(http.StatusForbidden, "host_absent", "the host has not opened this room yet")
		}
		return entry{role: accesstoken.PeerGuest, name: nameOr(name, "Guest")}, nil

	case c.Role == accesstoken.RoleHost:
		tr.at("host_session")
		// explain changes nothing; the real decision ends the session of
		// a user no longer configured.
		if _, rf := g.logins.Host(ctx, f.Session, f.Revoked, g.state.recentlyLost(), addr, room, tr != nil); rf != nil {
			return entry{}, rf
		}
		return entry{role: accesstoken.PeerHost, session: f.Session, claims: c, name: nameOr(name, c.Name)}, nil

	default:
		tr.at("revocation")
		if f.Revoked {
			return entry{}, refuse(http.StatusUnauthorized, "invalid_token", "this token was revoked")
		}
		tr.at("token_room")
		if !c.Global && c.Room != room {
			return entry{}, refuse(http.StatusUnauthorized, "wrong_room", "this token is for another room")
		}
		role := accesstoken.PeerGuest
		if c.Admin {
			role = accesstoken.PeerAdmin
		}
		// A name in the token is the name the issuer vouched for.
		e := entry{role: role, claims: c, name: nameOr(c.Name, nameOr(name, "Guest"))}
		if c.EjectAtExpiry && c.ExpiresAt != nil && c.EjectAfter <= 0 {
			e.ejectAt = c.ExpiresAt.Time
		}
		return e, nil
	}
}

// roomRules applies what an API room itself says about who may come in: a
// person without credentials for a private room that takes requests to
// join goes to its lobby (e's role becomes lobby). How many may come in is
// counted by places.
func (g *Gateway) roomRules(r *Room, c *accesstoken.Claims, e *entry, tr *trace) *refusal {
	tr.at("room_privacy")
	// A private room needs a token for it, a global token, or a host login;
	// decidePerson has already checked whichever came.
	if r != nil && r.private() && c == nil {
		if !r.EnableRequestToJoin {
			return refuse(http.StatusForbidden, "private_room", "this room is private: join with an invitation link or log in")
		}
		e.role = accesstoken.PeerLobby
	}
	return nil
}

func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}
