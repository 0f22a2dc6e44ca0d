package hostlogin

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
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
)

// Limits on a login request.
const (
	MaxBodyBytes   = 64 << 10
	maxUsernameLen = 128
	maxPasswordLen = 1024 // bcrypt reads 72 bytes; anything this long is not a password
)

// Credentials are a username and a password.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

var errBadCredentials = httperror.Refuse(http.StatusUnauthorized, "invalid_credentials", "wrong username or password")

// ServeLogin is POST /login: bcrypt check, limits, then a host session and its token.
func (l *Logins) ServeLogin(w http.ResponseWriter, r *http.Request) {
	creds, rf := readCredentials(w, r)
	if rf != nil {
		l.cfg.Tell.LoginOutcome(rf.Code)
		rf.Write(w)
		return
	}
	addr := l.cfg.ClientIP(r)
	token, exp, rf := l.Login(r, creds, addr)
	if rf != nil {
		rf.Write(w)
		return
	}
	SetCookie(w, token, exp)
	httperror.JSON(w, http.StatusOK, loginAnswer{Token: token, ExpiresAt: exp.UTC()})
}

// Login checks a username and password from addr and opens a host session.
// It is shared by POST /login and join links that carry credentials.
func (l *Logins) Login(r *http.Request, c Credentials, addr netip.Addr) (string, time.Time, *httperror.Refusal) {
	u, rf := l.Check(r, c, addr)
	if rf != nil {
		l.cfg.Tell.LoginOutcome(rf.Code)
		user := ""
		if l.users.byName[c.Username] != nil {
			user = c.Username
		}
		l.cfg.Tell.LoginFailed(addr, user, rf.Code)
		return "", time.Time{}, rf
	}

	return l.open(r, u.Name, DisplayName(u.Name), nil, addr)
}

// LoginVouched opens a host session for someone an identity provider
// vouched for (OpenID Connect): user is the name the provider gave,
// display the name to show, idp what a back-channel logout will name.
func (l *Logins) LoginVouched(r *http.Request, user, display string, idp cluster.IdPLogin, addr netip.Addr) (string, time.Time, *httperror.Refusal) {
	return l.open(r, user, display, &idp, addr)
}

// open mints a host token and records its session: the end of every login.
func (l *Logins) open(r *http.Request, user, display string, idp *cluster.IdPLogin, addr netip.Addr) (string, time.Time, *httperror.Refusal) {
	exp := l.cfg.Clock.Now().Add(l.cfg.TTL)
	c := accesstoken.Claims{
		Role:             accesstoken.RoleHost,
		Name:             display,
		RegisteredClaims: jwt.RegisteredClaims{Subject: user, ExpiresAt: jwt.NewNumericDate(exp)},
	}
	if idp != nil {
		// Bans hold the provider's subject: the name may be one its users
		// can change.
		c.IdPSubject = idp.Subject
	}
	token, claims, err := l.cfg.Issuer.Mint(c)
	if err != nil {
		l.cfg.Log.Error("minting a host token", zap.Error(err))
		return "", time.Time{}, httperror.Refuse(http.StatusInternalServerError, "internal", "the login could not be completed")
	}
	if err := l.openSession(r.Context(), cluster.Session{ID: claims.ID, User: user, Addr: addr.Unmap(), Expires: exp, IdP: idp}); err != nil {
		l.cfg.Log.Warn("recording a login", zap.Error(err))
		rf := httperror.Shared(err)
		l.cfg.Tell.LoginOutcome(rf.Code)
		return "", time.Time{}, rf
	}
	l.cfg.Tell.LoginOutcome("ok")
	l.cfg.Tell.LoggedIn(addr, user, claims.ID)
	return token, exp, nil
}

// Check checks a username and password from addr within the login
// limits, and returns the user.
func (l *Logins) Check(r *http.Request, c Credentials, addr netip.Addr) (*User, *httperror.Refusal) {
	store := l.cfg.Store
	ctx, cancel := l.cfg.Bound(r.Context())
	defer cancel()
	key := AddrKey(addr)
	perAddr := cluster.Bucket{Key: "a:" + key, Burst: AddrFailures, Refill: AddrRefill}
	perUser := cluster.Bucket{Key: "u:" + c.Username, Burst: UserFailures, Refill: UserRefill}
	// A user's failures from anywhere slow down logins as that user from
	// addresses it has not logged in from; its own known addresses are
	// never held up by what strangers do.
	known, err := store.KnownLogin(ctx, c.Username, key)
	if err != nil {
		return nil, httperror.Shared(err)
	}
	buckets := []cluster.Bucket{perAddr}
	if !known {
		buckets = append(buckets, perUser)
	}
	wait, err := store.LoginWait(ctx, buckets...)
	if err != nil {
		return nil, httperror.Shared(err)
	}
	if wait > 0 {
		return nil, &httperror.Refusal{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
			Message: "too many failed logins; try again later", RetryAfter: wait}
	}
	if !l.cfg.Guard.acquire(r.Context()) {
		return nil, &httperror.Refusal{Status: http.StatusTooManyRequests, Code: "busy",
			Message: "too many logins at once; try again in a moment", RetryAfter: time.Second}
	}
	u := l.users.checkPassword(c.Username, c.Password)
	l.cfg.Guard.release()
	// bcrypt took a second: the store gets a fresh deadline.
	ctx, cancel = l.cfg.Bound(r.Context())
	defer cancel()
	if u == nil {
		if err := store.LoginFailed(ctx, perAddr, perUser); err != nil {
			l.cfg.Log.Warn("counting a failed login", zap.Error(err))
		}
		l.cfg.Log.Info("login refused", zap.String("reason", "wrong username or password"))
		return nil, errBadCredentials
	}
	if err := store.RememberLogin(ctx, u.Name, key); err != nil {
		l.cfg.Log.Warn("remembering a login's address", zap.Error(err))
	}
	return u, nil
}

// DisplayName turns a username into a name to show, when it is one.
func DisplayName(user string) string {
	if accesstoken.ValidDisplayName(user) {
		return user
	}
	return ""
}

// readCredentials takes a username and password from a JSON or form body.
func readCredentials(w http.ResponseWriter, r *http.Request) (Credentials, *httperror.Refusal) {
	var c Credentials
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
		return c, httperror.Refuse(http.StatusUnsupportedMediaType, "unsupported_media_type", "send JSON or a form")
	}
	c.Username = strings.TrimSpace(c.Username)
	if c.Username == "" || c.Password == "" {
		return c, httperror.Refuse(http.StatusBadRequest, "missing_credentials", "username and password are required")
	}
	if len(c.Username) > maxUsernameLen || len(c.Password) > maxPasswordLen {
		return c, httperror.Refuse(http.StatusBadRequest, "credentials_too_long", "username or password is too long")
	}
	return c, nil
}

func bodyRefusal(err error, message string) *httperror.Refusal {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return httperror.Refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than 64 KiB")
	}
	return httperror.Refuse(http.StatusBadRequest, "bad_body", message)
}
