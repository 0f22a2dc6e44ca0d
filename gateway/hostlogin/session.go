package hostlogin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/httperror"
)

type sessionAnswer struct {
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ServeSession is GET /session: who is logged in, by the host cookie or a
// bearer host token, from this address; 401 when nobody is. The page shows
// the name (it cannot read the cookie) and learns whether the cookie works.
func (l *Logins) ServeSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok, rf := Bearer(r)
	if rf != nil {
		rf.Write(w)
		return
	}
	fromCookie := tok == ""
	if fromCookie {
		tok = CookieToken(r)
	}
	s, rf := l.liveSession(r, tok)
	if rf != nil {
		if fromCookie && tok != "" && Stale(rf.Code) {
			ClearCookie(w)
		}
		rf.Write(w)
		return
	}
	httperror.JSON(w, http.StatusOK, sessionAnswer{User: s.User, ExpiresAt: s.Expires.UTC()})
}

// liveSession is the session of a host token, if it is live and this
// request comes from its address.
func (l *Logins) liveSession(r *http.Request, tok string) (cluster.Session, *httperror.Refusal) {
	if tok == "" {
		return cluster.Session{}, errNotLoggedIn
	}
	c, err := l.cfg.Issuer.Verify(tok)
	if err != nil {
		return cluster.Session{}, httperror.Token(err)
	}
	if c.Role != accesstoken.RoleHost {
		return cluster.Session{}, errNotLoggedIn
	}
	ctx, cancel := l.cfg.Bound(r.Context())
	defer cancel()
	s, err := l.cfg.Store.Session(ctx, c.ID)
	if errors.Is(err, cluster.ErrNotFound) {
		return cluster.Session{}, ErrSessionEnded
	}
	if err != nil {
		return cluster.Session{}, httperror.Shared(err)
	}
	if s.Addr != l.cfg.ClientIP(r).Unmap() {
		return cluster.Session{}, ErrWrongAddress
	}
	return s, nil
}

// ServeLogout is POST /logout: the session ends, its address leaves the
// allowlist, and the host's open signalling connections close.
func (l *Logins) ServeLogout(w http.ResponseWriter, r *http.Request) {
	// Logging out forgets the cookie whatever else happens.
	ClearCookie(w)
	token, rf := Bearer(r)
	if rf == nil && token == "" {
		// The cookie logs out only a page of this site: another site's
		// page cannot send it (SameSite=Strict), nor pass this check.
		if r.Header.Get("Origin") != "" && SameOrigin(r) {
			token = CookieToken(r)
		}
		if token == "" {
			rf = httperror.Refuse(http.StatusUnauthorized, "missing_token", "send the host token as Authorization: Bearer")
		}
	}
	if rf != nil {
		rf.Write(w)
		return
	}
	claims, err := l.cfg.Issuer.Verify(token)
	if err != nil {
		httperror.Token(err).Write(w)
		return
	}
	if claims.Role != accesstoken.RoleHost {
		httperror.Refuse(http.StatusBadRequest, "not_a_host_token", "only a host token can log out").Write(w)
		return
	}
	ctx, cancel := l.cfg.Bound(r.Context())
	defer cancel()
	endAt := l.endSessionAt(ctx, r, claims.ID)
	if err := l.EndSession(ctx, claims.ID, "logged out"); err != nil {
		httperror.Shared(err).Write(w)
		return
	}
	l.cfg.Tell.LoggedOut(l.cfg.ClientIP(r), claims.Subject, claims.ID)
	if endAt != "" {
		w.Header().Set(EndSessionHeader, endAt)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// HostFor is the logged-in host a page of this site acts for, by the
// host cookie or a bearer host token from the session's address, if that
// user may open room.
func (l *Logins) HostFor(r *http.Request, room string) (*User, *httperror.Refusal) {
	tok, rf := Bearer(r)
	if rf != nil {
		return nil, rf
	}
	// The cookie counts only for a page of this site (as for logout).
	if tok == "" && r.Header.Get("Origin") != "" && SameOrigin(r) {
		tok = CookieToken(r)
	}
	s, rf := l.liveSession(r, tok)
	if rf != nil {
		return nil, rf
	}
	u := l.users.byName[s.User]
	if u == nil {
		return nil, ErrSessionEnded
	}
	if !u.MayEnter(room) {
		return nil, httperror.Refuse(http.StatusForbidden, "room_not_allowed", "this user may not open this room")
	}
	return u, nil
}

// EndSessionHeader, on POST /logout's answer, is where the page sends the
// browser next: the identity provider's end_session_endpoint, for a login
// through a provider that has one (RP-Initiated Logout).
const EndSessionHeader = "Roomgate-End-Session"

// endSessionAt is where the browser goes after logging out session id: the
// provider's end of session for a login through it, else "".
func (l *Logins) endSessionAt(ctx context.Context, r *http.Request, id string) string {
	if l.cfg.EndSession == nil {
		return ""
	}
	s, err := l.cfg.Store.Session(ctx, id)
	if err != nil || s.IdP == nil || s.IdP.Issuer != l.cfg.IdPIssuer {
		return ""
	}
	return l.cfg.EndSession(r)
}
