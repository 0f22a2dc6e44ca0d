package gateway

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
)

// A host's login reaches every tab of the browser that logged in through a
// cookie holding the host token: HttpOnly (no script reads it), Secure,
// SameSite=Strict (no other site's page sends it), the __Host- prefix (only
// this host sets it, for the whole site). The gateway takes it at the
// signalling path only, as the credential of a request that brings no
// other, and strips it before anything goes upstream; host rights still
// need the token AND the address that logged in. docs/browser.md, "Logged
// in across tabs", says why a cookie and not the tab's storage.
const hostCookie = "__Host-roomgate_host"

// setHostCookie hands the browser the host token until the session's end.
func setHostCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: hostCookie, Value: token, Path: "/", Expires: expires,
		MaxAge: max(1, int(time.Until(expires).Seconds())),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// clearHostCookie tells the browser to forget the host token.
func clearHostCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: hostCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// hostCookieToken is the token in the request's host cookie, or "".
func hostCookieToken(r *http.Request) string {
	c, err := r.Cookie(hostCookie)
	if err != nil || len(c.Value) > accesstoken.MaxTokenLen {
		return ""
	}
	return c.Value
}

// dropHostCookie removes the host cookie, and only it, from the headers.
func dropHostCookie(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var keep []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			if name, _, _ := strings.Cut(strings.TrimSpace(part), "="); name != hostCookie && strings.TrimSpace(part) != "" {
				keep = append(keep, strings.TrimSpace(part))
			}
		}
	}
	h.Del("Cookie")
	if len(keep) > 0 {
		h.Set("Cookie", strings.Join(keep, "; "))
	}
}

// staleLogin says whether a refusal means the login behind a host token is
// over here: a cookie holding it no longer makes its browser a host.
func staleLogin(code string) bool {
	return code == "invalid_token" || code == "session_ended" || code == "wrong_address"
}

// The refusals of a host's login that is over, or not here.
var (
	errSessionEnded = refuse(http.StatusUnauthorized, "session_ended", "this login has ended; log in again")
	errWrongAddress = refuse(http.StatusForbidden, "wrong_address", "this login belongs to another network address; log in again from here")
	errNotLoggedIn  = refuse(http.StatusUnauthorized, "not_logged_in", "nobody is logged in here")
)

type sessionAnswer struct {
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// serveSession is GET /session: who is logged in, by the host cookie or a
// bearer host token, from this address; 401 when nobody is. The page shows
// the name (it cannot read the cookie) and learns whether the cookie works.
func (g *Gateway) serveSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok, rf := bearer(r)
	if rf != nil {
		rf.Write(w)
		return
	}
	fromCookie := tok == ""
	if fromCookie {
		tok = hostCookieToken(r)
	}
	s, rf := g.liveSession(r, tok)
	if rf != nil {
		if fromCookie && tok != "" && staleLogin(rf.Code) {
			clearHostCookie(w)
		}
		rf.Write(w)
		return
	}
	writeJSON(w, http.StatusOK, sessionAnswer{User: s.User, ExpiresAt: s.Expires.UTC()})
}

// liveSession is the session of a host token, if it is live and this
// request comes from its address.
func (g *Gateway) liveSession(r *http.Request, tok string) (cluster.Session, *refusal) {
	if tok == "" {
		return cluster.Session{}, errNotLoggedIn
	}
	c, err := g.issuer.Verify(tok)
	if err != nil {
		return cluster.Session{}, tokenRefusal(err)
	}
	if c.Role != accesstoken.RoleHost {
		return cluster.Session{}, errNotLoggedIn
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	s, err := g.state.shared.Session(ctx, c.ID)
	if errors.Is(err, cluster.ErrNotFound) {
		return cluster.Session{}, errSessionEnded
	}
	if err != nil {
		return cluster.Session{}, sharedRefusal(err)
	}
	if s.Addr != g.cfg.ClientIP(r).Unmap() {
		return cluster.Session{}, errWrongAddress
	}
	return s, nil
}
