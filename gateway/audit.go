package gateway

import (
	"net/netip"

	"github.com/roomgate/roomgate/accesstoken"
	"go.uber.org/zap"
)

// The audit log: every decision at the door and every change made through
// the API, one structured line each, on a logger of its own
// (Config.Audit, "roomgate.audit" in Caddy) so an operator can route it
// to a file of its own. It names tokens by their id (jti) only, and never
// holds a password or a secret. Event names and rule names are fixed
// strings, the same the API and the pages use; the API's own events are
// restapi's (restapi/audit.go).
const (
	auditAdmitted     = "admission.admitted"
	auditRefused      = "admission.refused"
	auditLogin        = "host.login"
	auditLoginFailed  = "host.login_failed"
	auditLogout       = "host.logout"
	auditIdPLogout    = "host.idp_logout" // a back-channel logout, taken or refused
	auditTokenRevoked = "token.revoked"
)

func (g *Gateway) audit(event string, fields ...zap.Field) {
	g.cfg.Audit.Info(event, fields...)
}

// auditWho names the person behind a request: address, and the token's
// id, kind and stated identity when there is one.
func auditWho(addr netip.Addr, c *accesstoken.Claims) []zap.Field {
	f := []zap.Field{zap.String("address", addr.String())}
	if c == nil {
		return f
	}
	f = append(f, zap.String("token_id", c.ID), zap.String("token_role", string(c.Role)))
	if c.Role == accesstoken.RoleHost {
		f = append(f, zap.String("user", c.Subject))
	}
	if c.ExternalUserID != "" {
		f = append(f, zap.String("external_user_id", c.ExternalUserID))
	}
	return f
}
