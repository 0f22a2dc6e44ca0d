package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// entry is the gateway's decision for one signalling request.
type entry struct {
	role    accesstoken.PeerRole
	session *cluster.Session // a host's login
	pin     *cluster.Pin     // the media node the room is on, with PinRooms
	rejoin  string           // a rejoin pass's id, when it counts
	// identity is who the person verifiably is, for bans (bans.go).
	identity string
	// tokenRecord is the token whose limits (time in rooms, uses) this
	// connection counts against ("" when it has none); reconnect says the
	// person showed a rejoin pass for that token.
	tokenRecord string
	reconnect   bool
	claims      *accesstoken.Claims // nil when the person came without a token
	name        string
	ejectAt     time.Time
}

// serveSignal decides at the WebSocket upgrade whether this person may enter
// the room; only then does the request, carrying a fresh admission instead of
// the person's credentials, go on to next (reverse_proxy).
func (g *Gateway) serveSignal(w http.ResponseWriter, r *http.Request, next Next) error {
	ok, connect := isWebSocketUpgrade(r)
	if !ok {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			g.serveSignalCheck(w, r)
			return nil
		}
		refuse(http.StatusBadRequest, "websocket_required", "this path takes a WebSocket upgrade").write(w)
		return nil
	}
	room, name, claims, cred, rf := g.readSignalRequest(r, nil)
	// From here on the token lives only in claims: the headers, which an
	// access log may record and the upstream would receive, no longer carry it.
	scrubCredentials(r.Header, cred.subprotocols)
	addr := g.cfg.ClientIP(r)
	if rf != nil {
		g.state.countRefused(rf.code)
		g.audit(auditRefused, append(auditWho(addr, claims), zap.String("room", room), zap.String("rule", rf.code))...)
		g.notify("admission.refused", room, map[string]any{"address": addr.String(), "rule": rf.code})
		rf.write(w)
		return nil
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	conn, e, rf := g.enter(r.Context(), addr, room, name, claims, g.rejoinPass(cred.rejoin, room), cancel)
	if rf != nil {
		g.log.Debug("signalling refused", zap.String("room", room), zap.String("reason", rf.code))
		g.state.countRefused(rf.code)
		g.audit(auditRefused, append(auditWho(addr, claims), zap.String("room", room), zap.String("rule", rf.code))...)
		g.notify("admission.refused", room, map[string]any{"address": addr.String(), "rule": rf.code})
		rf.write(w)
		return nil
	}
	defer g.state.release(conn, g.cfg.HostGrace)

	peerID := accesstoken.NewID()
	a := accesstoken.Admission{
		RegisteredClaims: jwt.RegisteredClaims{Subject: peerID},
		Room:             room,
		Role:             e.role,
		Name:             e.name,
		Email:            claimOr(e.claims, func(c *accesstoken.Claims) string { return c.Email }),
		ExternalUserID:   claimOr(e.claims, func(c *accesstoken.Claims) string { return c.ExternalUserID }),
		TokenID:          claimOr(e.claims, func(c *accesstoken.Claims) string { return c.ID }),
		EjectAtMillis:    unixMilliOrZero(e.ejectAt),
		ICEServers:       g.iceServers(e.role, peerID, e.pin),
		Rejoin:           e.rejoin,
		Identity:         e.identity,
	}
	if e.pin != nil {
		a.Node, a.Epoch = e.pin.Node.ID, e.pin.Epoch
		g.cfg.Route(r, e.pin.Node.Signal)
	}
	adm, err := g.admissions.Mint(a)
	if err != nil {
		g.log.Error("minting an admission", zap.Error(err))
		refuse(http.StatusInternalServerError, "internal", "the admission could not be made").write(w)
		return nil
	}

	r.Header.Set(accesstoken.AdmissionHeader, adm)

	g.log.Debug("signalling admitted", zap.String("room", room), zap.String("role", string(e.role)))
	g.state.countAdmitted(string(e.role))
	fields := append(auditWho(addr, claims), zap.String("room", room), zap.String("role", string(e.role)), zap.String("peer", peerID))
	if e.pin != nil {
		fields = append(fields, zap.String("node", e.pin.Node.ID))
	}
	g.audit(auditAdmitted, fields...)
	// The upstream sees the one spelling of the path the operator wrote,
	// whichever the client used.
	r.URL.Path, r.URL.RawPath = g.cfg.SignalPath, ""
	return next(&upgradeWatcher{ResponseWriter: w, st: g.state, conn: conn, connect: connect}, r.WithContext(ctx))
}

// iceServers are the TURN servers for one admitted peer, with a credential
// of its own (the user part is the peer id, so the TURN quota counts per
// peer): those of the media node the room is on, when it names some.
// Someone in the lobby gets none: they have no media to relay.
func (g *Gateway) iceServers(role accesstoken.PeerRole, peerID string, pin *cluster.Pin) []accesstoken.ICEServer {
	urls := g.cfg.TURN
	if pin != nil && len(pin.Node.TURN) > 0 {
		urls = pin.Node.TURN
	}
	if len(urls) == 0 || role == accesstoken.PeerLobby {
		return nil
	}
	c := accesstoken.MintTURN(g.turnSecret, peerID, g.state.clock.Now().Add(g.cfg.TURNTTL))
	return []accesstoken.ICEServer{{URLs: urls, Username: c.Username, Credential: c.Password}}
}

// readSignalRequest checks what the upgrade and the check have in common:
// the Origin, the room and name, and the token if there is one.
func (g *Gateway) readSignalRequest(r *http.Request, tr *trace) (room, name string, claims *accesstoken.Claims, cred signalCredential, rf *refusal) {
	tr.at("credential_form")
	cred, rf = credentialOf(r)
	if rf != nil {
		return
	}
	tr.at("origin")
	if !sameOrigin(r) {
		return "", "", nil, cred, refuse(http.StatusForbidden, "bad_origin", "the page is not from this site")
	}
	q := r.URL.Query()
	room, name = q.Get("room"), q.Get("name")
	tr.at("room_name")
	if !accesstoken.ValidRoom(room) {
		return "", "", nil, cred, refuse(http.StatusBadRequest, "bad_room", "room must be 1-64 of A-Z a-z 0-9 _ -")
	}
	tr.at("display_name")
	if !accesstoken.ValidDisplayName(name) {
		return "", "", nil, cred, refuse(http.StatusBadRequest, "bad_name", "name must be at most 64 characters, without control characters")
	}
	if cred.token != "" {
		tr.at("token")
		c, err := g.issuer.Verify(cred.token)
		switch {
		case err != nil && cred.fromCookie:
			// A cookie left from a login that is over: the browser is no
			// longer a host's, and comes in as anyone would.
			cred.token, cred.fromCookie, cred.staleCookie = "", false, true
		case err != nil:
			return "", "", nil, cred, tokenRefusal(err)
		default:
			claims = c
		}
	}
	return room, name, claims, cred, nil
}

// rejoinPass checks the pass of someone coming back to room, and returns
// its id when it is good; decide drops it if it was barred (its holder was
// removed). A pass that is bad or for another room only counts for
// nothing: it grants no entry itself, the media server lets its holder
// through the room's lock.
func (g *Gateway) rejoinPass(pass, room string) *accesstoken.Rejoin {
	if pass == "" {
		return nil
	}
	p, err := g.admissions.VerifyRejoin(pass)
	if err != nil || p.Room != room {
		return nil
	}
	return p
}

// serveSignalCheck answers a plain GET at the signalling path with the
// decision an upgrade would meet, admitting nobody. A browser cannot read
// the status of a refused WebSocket, so the page asks here first, with its
// token as Authorization, to tell waiting for the host from being refused.
func (g *Gateway) serveSignalCheck(w http.ResponseWriter, r *http.Request) {
	room, name, claims, cred, rf := g.readSignalRequest(r, nil)
	if rf == nil {
		var e entry
		var apiRoom *Room
		decide := func() {
			e, apiRoom, rf = g.decide(r.Context(), g.cfg.ClientIP(r), room, name, claims, nil, nil)
			if rf == nil {
				rf = g.roomRules(apiRoom, claims, &e, nil)
			}
		}
		decide()
		if rf != nil && cred.fromCookie && staleLogin(rf.code) {
			// The cookie's login is over: answer as for anyone, and have
			// the browser forget it, so that the upgrade brings nothing.
			cred.staleCookie, claims = true, nil
			decide()
		}
		if cred.staleCookie {
			clearHostCookie(w)
		}
		if rf == nil {
			writeJSON(w, http.StatusOK, struct {
				Room string `json:"room"`
				Role string `json:"role"`
				Name string `json:"name"`
			}{room, string(e.role), e.name})
			return
		}
	}
	rf.write(w)
}

// maxDecisions bounds how often one admission is decided again because
// something was cut while it was being decided.
const maxDecisions = 3

// enter decides with the shared store whether the person may enter and,
// when they may, registers the connection. An event that cuts connections
// (a revocation, a logout, a deleted room) arriving between the decision
// and the registration makes it decide again, so that nothing it would
// have cut slips in. Through Redis, a decision costs two round trips: the
// facts, then the pin and the places.
func (g *Gateway) enter(ctx context.Context, addr netip.Addr, room, name string, c *accesstoken.Claims, rejoin *accesstoken.Rejoin, cancel context.CancelFunc) (*liveConn, entry, *refusal) {
	st := g.state
	for range maxDecisions {
		cuts := st.cuts.Load()
		e, apiRoom, rf := g.decide(ctx, addr, room, name, c, rejoin, nil)
		if rf == nil {
			rf = g.roomRules(apiRoom, c, &e, nil)
		}
		if rf == nil && e.role == accesstoken.PeerLobby {
			rf = g.knock(ctx, addr, room, true)
		}
		if rf != nil {
			return nil, e, rf
		}
		places := g.places(addr, room, apiRoom, e)
		if e.pin, rf = g.takePlaces(ctx, room, places); rf != nil {
			return nil, e, rf
		}
		if rf := g.joinToken(ctx, c, &e); rf != nil {
			g.givePlaces(places)
			return nil, e, rf
		}
		st.mu.Lock()
		if st.cuts.Load() != cuts {
			st.mu.Unlock()
			g.givePlaces(places)
			st.leaveToken(e.tokenRecord, true)
			continue
		}
		conn := g.registerLocked(addr, room, apiRoom, c, e, places, cancel)
		st.mu.Unlock()
		return conn, e, nil
	}
	return nil, entry{}, &refusal{status: http.StatusServiceUnavailable, code: "busy",
		message: "too much is changing at once; try again in a moment", retryAfter: time.Second}
}

// joinToken counts the join of a token with a limit in the shared store:
// its time in rooms (ejectAfterElapsedTimeInSec: across joins and
// gateways; the time away does not count) and its uses (maxUses: a
// reconnect of the same person, shown by a rejoin pass for this token,
// uses nothing). ejectAtTokenExp caps the deadline at the token's expiry.
func (g *Gateway) joinToken(ctx context.Context, c *accesstoken.Claims, e *entry) *refusal {
	if c == nil || (c.EjectAfter <= 0 && c.MaxUses <= 0) || c.ExpiresAt == nil {
		return nil
	}
	ctx, cancel := g.state.sharedCtx(ctx)
	defer cancel()
	j, err := g.state.shared.TokenJoin(ctx, cluster.TokenJoin{ID: c.ID, Expires: c.ExpiresAt.Time,
		EjectAfter: time.Duration(c.EjectAfter) * time.Second, MaxUses: c.MaxUses, Reconnect: e.reconnect})
	if errors.Is(err, cluster.ErrUsedUp) {
		return refuse(http.StatusForbidden, "invitation_used", "this invitation has been used as often as it may be")
	}
	if err != nil {
		return sharedRefusal(err)
	}
	e.tokenRecord = c.ID
	if c.EjectAfter > 0 {
		at := j.Deadline
		if c.EjectAtExpiry && c.ExpiresAt.Time.Before(at) {
			at = c.ExpiresAt.Time
		}
		if !g.state.clock.Now().Before(at) {
			g.state.leaveToken(c.ID, true)
			return refuse(http.StatusForbidden, "time_up", "your time in this room is up")
		}
		e.ejectAt = at
	}
	return nil
}

// registerLocked registers an admitted connection, with the places it took.
func (g *Gateway) registerLocked(addr netip.Addr, room string, apiRoom *Room, c *accesstoken.Claims, e entry, places []cluster.Place, cancel context.CancelFunc) *liveConn {
	st := g.state
	conn := &liveConn{room: room, cancel: cancel, places: places, tokenRecord: e.tokenRecord, identity: e.identity, apiRoom: apiRoom != nil, who: participant{
		Name:           e.name,
		Email:          claimOr(c, func(c *accesstoken.Claims) string { return c.Email }),
		ExternalUserID: claimOr(c, func(c *accesstoken.Claims) string { return c.ExternalUserID }),
		IsAdmin:        e.role == accesstoken.PeerHost || e.role == accesstoken.PeerAdmin,
	}, lobby: e.role == accesstoken.PeerLobby}
	if e.session != nil {
		conn.session = st.localSessionLocked(*e.session)
	}
	if c != nil {
		conn.tokenID = c.ID
	}
	st.trackLocked(conn, e.ejectAt)
	if apiRoom != nil {
		st.armRoomLocked(apiRoom)
		conn.joinHook, conn.leftHook = apiRoom.hookFor("participant.joined"), apiRoom.hookFor("participant.left")
	}
	return conn
}

// decide applies, with what the shared store says now, the rules about the
// person, and reads the room's properties (nil when it is not an API room).
// rejoin is the id of a rejoin pass whose signature was checked; it counts
// unless it was barred.
func (g *Gateway) decide(ctx context.Context, addr netip.Addr, room, name string, c *accesstoken.Claims, rejoin *accesstoken.Rejoin, tr *trace) (entry, *Room, *refusal) {
	st := g.state
	ctx, cancel := st.sharedCtx(ctx)
	defer cancel()
	identity := identityOf(addr, c)
	q := cluster.FactsQuery{Room: room, Identities: []string{identity}}
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
	f, err := st.shared.Facts(ctx, q)
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
		if rf.code == "host_absent" && tr == nil {
			g.arrivedEarly(ctx, room, addr)
		}
		return e, nil, rf
	}
	e.identity = identity
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
	if c == nil && g.cfg.HostProtected && (r == nil || !r.AdmitEarlyArrivals) {
		tr.at("early_arrival")
		early, err := g.earlyArrival(ctx, room, addr)
		if err != nil {
			return e, nil, sharedRefusal(err)
		}
		if early {
			e.role = accesstoken.PeerLobby
		}
	}
	return e, r, nil
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
		s := f.Session
		tr.at("host_session")
		if s == nil && !f.Revoked && g.state.recentlyLost() {
			// The gateway the host is connected through may not have
			// given the login back yet.
			return entry{}, sharedRefusal(cluster.ErrReset)
		}
		if s == nil || f.Revoked {
			return entry{}, errSessionEnded
		}
		// Host rights need the token and a request from the address that logged in.
		tr.at("host_address")
		if s.Addr != addr.Unmap() {
			return entry{}, errWrongAddress
		}
		u := g.users[s.User]
		tr.at("host_user")
		if u == nil {
			// explain changes nothing; the real decision ends the session.
			if tr == nil {
				if err := g.state.endSession(ctx, s.ID, "user removed from the configuration"); err != nil {
					return entry{}, sharedRefusal(err)
				}
			}
			return entry{}, errSessionEnded
		}
		tr.at("host_rooms")
		if !u.mayEnter(room) {
			return entry{}, refuse(http.StatusForbidden, "room_not_allowed", "this user may not open this room")
		}
		return entry{role: accesstoken.PeerHost, session: s, claims: c, name: nameOr(name, c.Name)}, nil

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

func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}

func claimOr(c *accesstoken.Claims, f func(*accesstoken.Claims) string) string {
	if c == nil {
		return ""
	}
	return f(c)
}

func unixMilliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// scrubCredentials removes from the request's headers, in place, the token
// and anything that could pass for an admission: the upstream gets the
// gateway's admission and nothing the client claimed about itself.
func scrubCredentials(h http.Header, subprotocols bool) {
	dropAdmissionHeaders(h)
	h.Del("Authorization")
	dropHostCookie(h)
	h.Del("Sec-WebSocket-Protocol")
	if subprotocols {
		h.Set("Sec-WebSocket-Protocol", Subprotocol)
	}
}
