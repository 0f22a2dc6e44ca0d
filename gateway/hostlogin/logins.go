package hostlogin

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
)

// MaxSessionsPerUser bounds one user's concurrent logins; a newer login
// ends the oldest.
const MaxSessionsPerUser = 16

// Observer hears of logins and logouts: counts, the audit log, webhooks.
// It gets no password and no token.
type Observer interface {
	// LoginOutcome counts one login: "ok" or the refusal's code.
	LoginOutcome(outcome string)
	// LoggedIn: user logged in from addr, as session.
	LoggedIn(addr netip.Addr, user, session string)
	// LoginFailed: a login from addr was refused by rule; user is "" when
	// nobody has that name (people type passwords there).
	LoginFailed(addr netip.Addr, user, rule string)
	// LoggedOut: session of user ended from addr.
	LoggedOut(addr netip.Addr, user, session string)
}

// Config is what Logins needs from the gateway's configuration.
type Config struct {
	Users []User
	// IdPIssuer is the OpenID Provider whose logins are honoured; "": none.
	// A login from another (the provider changed, or is gone from the
	// configuration) ends at its next use, as a removed user's does.
	IdPIssuer string
	// EndSession is where a browser goes after logging out a login through
	// IdPIssuer, to end the provider's session too ("": nowhere); nil:
	// no provider.
	EndSession func(*http.Request) string
	// TTL is how long a login lasts.
	TTL time.Duration
	// ClientIP is the address the server resolved for a request.
	ClientIP func(*http.Request) netip.Addr
	Issuer   *accesstoken.Issuer
	// Store holds the sessions; Bound bounds one call to it.
	Store cluster.Store
	Bound func(context.Context) (context.Context, context.CancelFunc)
	Guard *Guard
	Clock clockwork.Clock
	Log   *zap.Logger
	Tell  Observer
}

// Logins is one configuration's way for hosts to log in.
type Logins struct {
	cfg   Config
	users users
}

// New makes Logins over cfg.
func New(cfg Config) *Logins {
	return &Logins{cfg: cfg, users: newUsers(cfg.Users)}
}

// User is the configured user with this name, or nil.
func (l *Logins) User(name string) *User { return l.users.byName[name] }

// The refusals of a host's login that is over, or not here.
var (
	ErrSessionEnded = httperror.Refuse(http.StatusUnauthorized, "session_ended", "this login has ended; log in again")
	ErrWrongAddress = httperror.Refuse(http.StatusForbidden, "wrong_address", "this login belongs to another network address; log in again from here")
	errNotLoggedIn  = httperror.Refuse(http.StatusUnauthorized, "not_logged_in", "nobody is logged in here")
)

// Stale says whether a refusal means the login behind a host token is over
// here: a cookie holding it no longer makes its browser a host.
func Stale(code string) bool {
	return code == "invalid_token" || code == "session_ended" || code == "wrong_address"
}

// Host answers the door's question: s is the session a host token names,
// as the shared store holds it (nil: none), revoked whether its id is in
// the revocation list (an ended login), addr where the request comes from.
// It returns the user, or why the login cannot be used here. recent says
// that the store lost its data a moment ago: a login missing from it may
// not be given back yet (try again, not log in again). A user no longer
// configured ends the session unless dryRun (explain changes nothing).
func (l *Logins) Host(ctx context.Context, s *cluster.Session, revoked, recent bool, addr netip.Addr, room string, dryRun bool) (*User, *httperror.Refusal) {
	if s == nil && !revoked && recent {
		return nil, httperror.Shared(cluster.ErrReset)
	}
	if s == nil || revoked {
		return nil, ErrSessionEnded
	}
	// Host rights need the token and a request from the address that logged in.
	if s.Addr != addr.Unmap() {
		return nil, ErrWrongAddress
	}
	u := l.users.byName[s.User]
	if s.IdP != nil {
		// Whom a provider vouched for is no configured user: the rooms are
		// those its groups allowed at login.
		u = nil
		if s.IdP.Issuer == l.cfg.IdPIssuer {
			u = &User{Name: s.User, Rooms: s.IdP.Rooms}
		}
	}
	if u == nil {
		if !dryRun {
			if err := l.EndSession(ctx, s.ID, "user removed from the configuration"); err != nil {
				return nil, httperror.Shared(err)
			}
		}
		return nil, ErrSessionEnded
	}
	if !u.MayEnter(room) {
		return nil, httperror.Refuse(http.StatusForbidden, "room_not_allowed", "this user may not open this room")
	}
	return u, nil
}

// openSession records a login.
func (l *Logins) openSession(ctx context.Context, s cluster.Session) error {
	_, err := l.cfg.Store.OpenSession(ctx, s, MaxSessionsPerUser)
	if err != nil {
		return err
	}
	l.cfg.Log.Info("host logged in", zap.String("user", s.User), zap.Bool("identity_provider", s.IdP != nil))
	return nil
}

// EndSession ends a login on every gateway: its address leaves the
// allowlist and every gateway cuts the host's connections when it hears.
func (l *Logins) EndSession(ctx context.Context, id, reason string) error {
	return EndSession(ctx, l.cfg.Store, id, reason)
}

// EndSession ends a login in store (for a caller with no Logins at hand: a
// timer of the door's); one that is over already is no error.
func EndSession(ctx context.Context, store cluster.Store, id, reason string) error {
	err := store.EndSession(ctx, id, reason)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil // over already
	}
	return err
}
