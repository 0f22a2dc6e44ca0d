package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"go.uber.org/zap"
)

// A signalling request, top to bottom: the credential and the request's
// form (readSignalRequest), the decision with the shared store (enter.go,
// decide.go), then the admission that goes to reverse_proxy in place of
// the credential.

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
		refuse(http.StatusBadRequest, "websocket_required", "this path takes a WebSocket upgrade").Write(w)
		return nil
	}
	room, name, claims, cred, rf := g.readSignalRequest(r, nil)
	early := rf == nil && g.cameEarly(r, room)
	// From here on the token lives only in claims: the headers, which an
	// access log may record and the upstream would receive, no longer carry it.
	scrubCredentials(r.Header, cred.subprotocols)
	addr := g.cfg.ClientIP(r)
	if rf != nil {
		g.refused(w, addr, claims, room, rf)
		return nil
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	conn, e, rf := g.enter(r.Context(), addr, room, name, claims, g.rejoinPass(cred.rejoin, room), early, cancel)
	if rf != nil {
		g.log.Debug("signalling refused", zap.String("room", room), zap.String("reason", rf.Code))
		g.refused(w, addr, claims, room, rf)
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
		MayOwn:           e.mayOwn && e.role == accesstoken.PeerGuest,
	}
	if a.MayOwn {
		a.OwnerPassMillis = g.ownerPassIssued(cred.owner, room)
	}
	if e.pin != nil {
		a.Node, a.Epoch = e.pin.Node.ID, e.pin.Epoch
		g.cfg.Route(r, e.pin.Node.Signal)
	}
	adm, err := g.admissions.Mint(a)
	if err != nil {
		g.log.Error("minting an admission", zap.Error(err))
		refuse(http.StatusInternalServerError, "internal", "the admission could not be made").Write(w)
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

// refused turns the person away, counted, audited and announced.
func (g *Gateway) refused(w http.ResponseWriter, addr netip.Addr, claims *accesstoken.Claims, room string, rf *refusal) {
	g.state.countRefused(rf.Code)
	g.audit(auditRefused, append(auditWho(addr, claims), zap.String("room", room), zap.String("rule", rf.Code))...)
	g.notify("admission.refused", room, map[string]any{"address": addr.String(), "rule": rf.Code})
	rf.Write(w)
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
	if !hostlogin.SameOrigin(r) {
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
// The answer also says what the page should tell a person waiting
// (waiting.go): why they would wait in the lobby, what happens when the
// host comes, and that a meeting has ended before they press Join.
func (g *Gateway) serveSignalCheck(w http.ResponseWriter, r *http.Request) {
	room, name, claims, cred, rf := g.readSignalRequest(r, nil)
	if rf != nil {
		rf.Write(w)
		return
	}
	var e entry
	var apiRoom *Room
	decide := func() {
		e, apiRoom, rf = g.decide(r.Context(), g.cfg.ClientIP(r), room, name, claims, nil, g.cameEarly(r, room), nil)
		if rf == nil {
			rf = g.roomRules(apiRoom, claims, &e, nil)
		}
	}
	decide()
	if rf != nil && cred.fromCookie && hostlogin.Stale(rf.Code) {
		// The cookie's login is over: answer as for anyone, and have
		// the browser forget it, so that the upgrade brings nothing.
		cred.staleCookie, claims = true, nil
		decide()
	}
	if cred.staleCookie {
		hostlogin.ClearCookie(w)
	}
	if rf == nil {
		rf = g.endedFor(r.Context(), room, e.role)
	}
	var left *int
	if rf == nil {
		left, rf = g.usesLeft(r.Context(), claims)
	}
	switch {
	case rf != nil && rf.Code == "host_absent":
		g.waitForHost(w, room, apiRoom, rf)
	case rf != nil:
		rf.Write(w)
	default:
		writeJSON(w, http.StatusOK, struct {
			Room  string `json:"room"`
			Role  string `json:"role"`
			Name  string `json:"name"`
			Early bool   `json:"early,omitempty"`
			// UsesLeft, for an invitation with maxUses, is how many joins
			// it still opens: 0 says the upgrade will be refused
			// (invitation_used) unless it is a reconnect with a rejoin
			// pass, which the check does not see.
			UsesLeft *int `json:"usesLeft,omitempty"`
		}{room, string(e.role), e.name, e.early, left})
	}
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

// scrubCredentials removes from the request's headers, in place, the token
// and anything that could pass for an admission: the upstream gets the
// gateway's admission and nothing the client claimed about itself.
func scrubCredentials(h http.Header, subprotocols bool) {
	dropAdmissionHeaders(h)
	h.Del("Authorization")
	hostlogin.DropCookie(h)
	dropEarlyCookies(h)
	h.Del("Sec-WebSocket-Protocol")
	if subprotocols {
		h.Set("Sec-WebSocket-Protocol", Subprotocol)
	}
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

// usesLeft is how many joins an invitation with maxUses still opens; nil
// for any other credential.
func (g *Gateway) usesLeft(ctx context.Context, c *accesstoken.Claims) (*int, *refusal) {
	if c == nil || c.MaxUses <= 0 {
		return nil, nil
	}
	ctx, cancel := g.state.sharedCtx(ctx)
	defer cancel()
	used, err := g.state.shared.TokenUses(ctx, c.ID)
	if err != nil {
		return nil, sharedRefusal(err)
	}
	left := max(0, c.MaxUses-used)
	return &left, nil
}
