package gateway

import (
	"net/http"
	"net/netip"

	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
)

// Host logins are hostlogin's; the door keeps short names for what it
// shares with them, and tells its counts, audit log and webhooks of them.

// User and Comparer are hostlogin's: Config.Users lists the hosts.
type (
	User     = hostlogin.User
	Comparer = hostlogin.Comparer
)

var (
	addrKey      = hostlogin.AddrKey
	tokenRefusal = httperror.Token
)

// loginEvents is how hostlogin tells the gateway of logins.
type loginEvents struct{ g *Gateway }

func (e loginEvents) LoginOutcome(outcome string) { e.g.state.countLogin(outcome) }

func (e loginEvents) LoggedIn(addr netip.Addr, user, session string) {
	e.g.audit(auditLogin, zap.String("address", addr.String()), zap.String("user", user), zap.String("session", session))
	e.g.notify("host.login", "", map[string]any{"address": addr.String(), "user": user})
}

func (e loginEvents) LoginFailed(addr netip.Addr, user, rule string) {
	// A username nobody has is not logged: people type passwords there.
	who := zap.String("user", user)
	if user == "" {
		who = zap.Bool("unknown_user", true)
	}
	e.g.audit(auditLoginFailed, zap.String("address", addr.String()), who, zap.String("rule", rule))
	failed := map[string]any{"address": addr.String(), "rule": rule}
	if user != "" {
		failed["user"] = user
	}
	e.g.notify("host.login_failed", "", failed)
}

func (e loginEvents) LoggedOut(addr netip.Addr, user, session string) {
	e.g.audit(auditLogout, zap.String("address", addr.String()), zap.String("user", user), zap.String("session", session))
	e.g.notify("host.logout", "", map[string]any{"user": user})
}

func (e loginEvents) IdPLogout(addr netip.Addr, rule string, sessions int) {
	e.g.audit(auditIdPLogout, zap.String("address", addr.String()), zap.String("rule", rule), zap.Int("sessions", sessions))
}

// serveBackchannelLogout takes the provider's logout tokens, by POST only.
func (g *Gateway) serveBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	switch {
	case g.oidc == nil:
		refuse(http.StatusNotFound, "not_found", "there is no login through an identity provider here").Write(w)
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, "method_not_allowed", "the identity provider POSTs its logout token").Write(w)
	default:
		g.oidc.ServeBackchannelLogout(w, r)
	}
}
