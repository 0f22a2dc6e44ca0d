package gateway

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// Login limits: failures fill a bucket per address (10 at once, one more
// every 6 s) and one per username (50 at once, one more every 6 s). The
// username's bucket only holds back logins from addresses the user has
// not logged in from in the last 30 days: a stranger's guessing slows down
// everyone else's guesses, never the user's own logins.
const (
	addrFailures = 10
	addrRefill   = 6 * time.Second
	userFailures = 50
	userRefill   = 6 * time.Second
)

// Limits on a login request.
const (
	MaxBodyBytes   = 64 << 10
	maxUsernameLen = 128
	maxPasswordLen = 1024 // bcrypt reads 72 bytes; anything this long is not a password
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

var errBadCredentials = refuse(http.StatusUnauthorized, "invalid_credentials", "wrong username or password")

// serveLogin is POST /login: bcrypt check, limits, then a host session and its token.
func (g *Gateway) serveLogin(w http.ResponseWriter, r *http.Request) {
	creds, rf := readCredentials(w, r)
	if rf != nil {
		g.state.countLogin(rf.Code)
		rf.Write(w)
		return
	}
	addr := g.cfg.ClientIP(r)
	token, exp, rf := g.login(r, creds, addr)
	if rf != nil {
		rf.Write(w)
		return
	}
	setHostCookie(w, token, exp)
	writeJSON(w, http.StatusOK, loginAnswer{Token: token, ExpiresAt: exp.UTC()})
}

// login checks a username and password from addr and opens a host session.
// It is shared by POST /login and join links that carry credentials.
func (g *Gateway) login(r *http.Request, c credentials, addr netip.Addr) (string, time.Time, *refusal) {
	st := g.state
	u, rf := g.checkLogin(r, c, addr)
	if rf != nil {
		st.countLogin(rf.Code)
		// A username nobody has is not logged: people type passwords there.
		who := zap.String("user", c.Username)
		if g.users[c.Username] == nil {
			who = zap.Bool("unknown_user", true)
		}
		g.audit(auditLoginFailed, zap.String("address", addr.String()), who, zap.String("rule", rf.Code))
		failed := map[string]any{"address": addr.String(), "rule": rf.Code}
		if g.users[c.Username] != nil {
			failed["user"] = c.Username
		}
		g.notify("host.login_failed", "", failed)
		return "", time.Time{}, rf
	}

	exp := st.clock.Now().Add(g.cfg.TokenTTL)
	token, claims, err := g.issuer.Mint(accesstoken.Claims{
		Role:             accesstoken.RoleHost,
		Name:             displayNameOf(u.Name),
		RegisteredClaims: jwt.RegisteredClaims{Subject: u.Name, ExpiresAt: jwt.NewNumericDate(exp)},
	})
	if err != nil {
		g.log.Error("minting a host token", zap.Error(err))
		return "", time.Time{}, refuse(http.StatusInternalServerError, "internal", "the login could not be completed")
	}
	if err := st.openSession(r.Context(), claims.ID, u.Name, addr, exp); err != nil {
		g.log.Warn("recording a login", zap.Error(err))
		rf := sharedRefusal(err)
		st.countLogin(rf.Code)
		return "", time.Time{}, rf
	}
	st.countLogin("ok")
	g.audit(auditLogin, zap.String("address", addr.String()), zap.String("user", u.Name), zap.String("session", claims.ID))
	g.notify("host.login", "", map[string]any{"address": addr.String(), "user": u.Name})
	return token, exp, nil
}

// checkLogin checks a username and password from addr within the login
// limits, and returns the user.
func (g *Gateway) checkLogin(r *http.Request, c credentials, addr netip.Addr) (*User, *refusal) {
	st := g.state
	ctx, cancel := st.sharedCtx(r.Context())
	defer cancel()
	key := addrKey(addr)
	perAddr := cluster.Bucket{Key: "a:" + key, Burst: addrFailures, Refill: addrRefill}
	perUser := cluster.Bucket{Key: "u:" + c.Username, Burst: userFailures, Refill: userRefill}
	// A user's failures from anywhere slow down logins as that user from
	// addresses it has not logged in from; its own known addresses are
	// never held up by what strangers do.
	known, err := st.shared.KnownLogin(ctx, c.Username, key)
	if err != nil {
		return nil, sharedRefusal(err)
	}
	buckets := []cluster.Bucket{perAddr}
	if !known {
		buckets = append(buckets, perUser)
	}
	wait, err := st.shared.LoginWait(ctx, buckets...)
	if err != nil {
		return nil, sharedRefusal(err)
	}
	if wait > 0 {
		return nil, &refusal{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
			Message: "too many failed logins; try again later", RetryAfter: wait}
	}
	if !st.guard.acquire(r.Context()) {
		return nil, &refusal{Status: http.StatusTooManyRequests, Code: "busy",
			Message: "too many logins at once; try again in a moment", RetryAfter: time.Second}
	}
	u := g.checkPassword(c.Username, c.Password)
	st.guard.release()
	// bcrypt took a second: the store gets a fresh deadline.
	ctx, cancel = st.sharedCtx(r.Context())
	defer cancel()
	if u == nil {
		if err := st.shared.LoginFailed(ctx, perAddr, perUser); err != nil {
			g.log.Warn("counting a failed login", zap.Error(err))
		}
		g.log.Info("login refused", zap.String("reason", "wrong username or password"))
		return nil, errBadCredentials
	}
	if err := st.shared.RememberLogin(ctx, u.Name, key); err != nil {
		g.log.Warn("remembering a login's address", zap.Error(err))
	}
	return u, nil
}

// displayNameOf turns a username into a name to show, when it is one.
func displayNameOf(user string) string {
	if accesstoken.ValidDisplayName(user) {
		return user
	}
	return ""
}

// readCredentials takes a username and password from a JSON or form body.
func readCredentials(w http.ResponseWriter, r *http.Request) (credentials, *refusal) {
	var c credentials
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&c); err != nil {
			return c, bodyRefusal(err, "the body is not a JSON object with username and password")
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		// ParseMultipartForm hides ParseForm's errors behind ErrNotMultipart,
		// so each kind is parsed by its own call.
		parse := r.ParseForm
		if ct == "multipart/form-data" {
			parse = func() error { return r.ParseMultipartForm(MaxBodyBytes) }
		}
		if err := parse(); err != nil {
			return c, bodyRefusal(err, "the form could not be read")
		}
		c.Username, c.Password = r.PostFormValue("username"), r.PostFormValue("password")
	default:
		return c, refuse(http.StatusUnsupportedMediaType, "unsupported_media_type", "send JSON or a form")
	}
	c.Username = strings.TrimSpace(c.Username)
	if c.Username == "" || c.Password == "" {
		return c, refuse(http.StatusBadRequest, "missing_credentials", "username and password are required")
	}
	if len(c.Username) > maxUsernameLen || len(c.Password) > maxPasswordLen {
		return c, refuse(http.StatusBadRequest, "credentials_too_long", "username or password is too long")
	}
	return c, nil
}

func bodyRefusal(err error, message string) *refusal {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than 64 KiB")
	}
	return refuse(http.StatusBadRequest, "bad_body", message)
}

// serveLogout is POST /logout: the session ends, its address leaves the
// allowlist, and the host's open signalling connections close.
func (g *Gateway) serveLogout(w http.ResponseWriter, r *http.Request) {
	// Logging out forgets the cookie whatever else happens.
	clearHostCookie(w)
	token, rf := bearer(r)
	if rf == nil && token == "" {
		// The cookie logs out only a page of this site: another site's
		// page cannot send it (SameSite=Strict), nor pass this check.
		if r.Header.Get("Origin") != "" && sameOrigin(r) {
			token = hostCookieToken(r)
		}
		if token == "" {
			rf = refuse(http.StatusUnauthorized, "missing_token", "send the host token as Authorization: Bearer")
		}
	}
	if rf != nil {
		rf.Write(w)
		return
	}
	claims, err := g.issuer.Verify(token)
	if err != nil {
		tokenRefusal(err).Write(w)
		return
	}
	if claims.Role != accesstoken.RoleHost {
		refuse(http.StatusBadRequest, "not_a_host_token", "only a host token can log out").Write(w)
		return
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	if err := g.state.endSession(ctx, claims.ID, "logged out"); err != nil {
		sharedRefusal(err).Write(w)
		return
	}
	g.audit(auditLogout, zap.String("address", g.cfg.ClientIP(r).String()), zap.String("user", claims.Subject), zap.String("session", claims.ID))
	g.notify("host.logout", "", map[string]any{"user": claims.Subject})
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
