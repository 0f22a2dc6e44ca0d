package caddymodule

import (
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/roomgate/roomgate/gateway"
	"github.com/roomgate/roomgate/gateway/hostlogin/oidc"
	"github.com/roomgate/roomgate/gateway/restapi"
	"github.com/roomgate/roomgate/webhook"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Gateway{})
}

// gatewayStates keeps each gateway's live state (host sessions, allowlist,
// connections, login limits) across config reloads, keyed by the secret's
// fingerprint: a reload that keeps the secret keeps every login.
var gatewayStates = caddy.NewUsagePool()

// Gateway is the roomgate HTTP handler: it logs hosts in, keeps the
// allowlist of their addresses, checks peer tokens, and lets a signalling
// WebSocket through to the next handler (reverse_proxy) only with a fresh
// admission for the media server.
type Gateway struct {
	// Secret is the master secret, at least 32 bytes; each purpose derives its
	// own key from it. Placeholders such as {env.ROOMGATE_SECRET} are expanded
	// at start. Left empty, a random secret is made once and kept in Caddy's
	// storage.
	Secret string `json:"secret,omitempty"`

	// HostProtected lets guests without credentials join a room only while a
	// logged-in host is in it (MiroTalk's HOST_PROTECTED).
	HostProtected bool `json:"host_protected,omitempty"`

	// UserAuth lets nobody join without credentials or a valid token
	// (MiroTalk's HOST_USER_AUTH).
	UserAuth bool `json:"user_auth,omitempty"`

	// Users are the hosts who may log in, with password hashes as
	// `roomgate hash-password` prints them: bcrypt or argon2id, checked by
	// Caddy's own comparers.
	Users []UserConfig `json:"users,omitempty"`

	// OIDC lets hosts log in with the organisation's OpenID Connect
	// provider; `user` lines stay optional beside it.
	OIDC *OIDCConfig `json:"oidc,omitempty"`

	// UsersJSON takes MiroTalk's HOST_USERS JSON,
	// [{"username":"…","password":"…","allowed_rooms":["…"]}], for migration.
	// Plain passwords there are hashed at load (a warning says so); bcrypt
	// hashes are taken as they are.
	UsersJSON string `json:"users_json,omitempty"`

	// TokenTTL is the lifetime of a host login and the default lifetime of
	// peer tokens. Default: 1h.
	TokenTTL caddy.Duration `json:"token_ttl,omitempty"`

	// InvitationTTL is the lifetime of the invitation a logged-in host's
	// Copy link makes on a user_auth site (a link with a room-bound peer
	// token, for guests without a login). Default: 24h.
	InvitationTTL caddy.Duration `json:"invitation_ttl,omitempty"`

	// InvitationUses is how many joins such an invitation opens (a
	// reconnect uses none). Default: 50.
	InvitationUses int `json:"invitation_uses,omitempty"`

	// SignalPath is the path of the signalling WebSocket. Default: /ws.
	SignalPath string `json:"signal_path,omitempty"`

	// HostGrace is how long a host's session and room stay open after the
	// host's last signalling connection ends, so that a page reload does not
	// end the meeting. Default: 30s.
	HostGrace caddy.Duration `json:"host_grace,omitempty"`

	// APIKey enables the REST API under /api/v1/ (Bearer, MiroTalk's bare
	// authorization header, or Metered's secretKey query parameter); at
	// least 16 characters. Absent: the API answers 404.
	APIKey string `json:"api_key,omitempty"`

	// AutoCreateRooms lets people into rooms nobody made through the API.
	// Default: on. Off: only rooms made with POST /api/v1/room exist.
	AutoCreateRooms *bool `json:"auto_create_rooms,omitempty"`

	// TURN are the turn: and turns: URLs (RFC 7065) handed to every admitted
	// peer, with a TURN REST credential minted for that peer from the master
	// secret. The `turn` app checks them; so does coturn with
	// use-auth-secret and the secret `roomgate turn-secret` prints.
	TURN []string `json:"turn,omitempty"`

	// TURNTTL is how long a TURN credential may start new allocations; a call
	// goes on past it. Default: 10m.
	TURNTTL caddy.Duration `json:"turn_ttl,omitempty"`

	// MaxConnsPerAddress bounds the signalling connections open at once from
	// one client address (one /64 for IPv6), so that one machine cannot
	// hold the server's connections or a room's lobby. Default: 200; -1
	// (Caddyfile: off): no bound.
	MaxConnsPerAddress int `json:"max_connections_per_address,omitempty"`

	// PinRooms sends each room's signalling to the media node the room is
	// pinned to (roomgate_cluster needed): the first join of a room picks
	// a live node, everyone after goes there, and a room whose node died
	// moves on the next join. The site's reverse_proxy names its upstream
	// {http.vars.roomgate_upstream}.
	PinRooms bool `json:"pin_rooms,omitempty"`

	// Region is where this gateway runs; new rooms go to media nodes of
	// the same region first.
	Region string `json:"region,omitempty"`

	// Webhooks are the receivers of event notifications (logins, refusals,
	// people joining and leaving, revocations, bans, rooms ending), POSTed
	// as JSON and signed the Standard Webhooks way with WebhookSecret;
	// tried again for 25 hours, kept across restarts, in order per room.
	Webhooks []string `json:"webhooks,omitempty"`

	// WebhookSecret signs the notifications: "whsec_<base64>" or at least
	// 24 bytes. Placeholders such as {env.ROOMGATE_WEBHOOK_SECRET} are
	// expanded at start.
	WebhookSecret string `json:"webhook_secret,omitempty"`

	// WebhookRetryMax caps the wait between two tries of a delivery.
	// Default: 1h.
	WebhookRetryMax caddy.Duration `json:"webhook_retry_max,omitempty"`

	gw       *gateway.Gateway
	stateKey string
	memKey   string // this process's shared memory, when not in a cluster
}

// UserConfig is one host who may log in.
type UserConfig struct {
	// Username is what the host types to log in.
	Username string `json:"username"`
	// Password is the hash of the password (bcrypt or argon2id).
	Password string `json:"password"`
	// Rooms are the rooms the host may open; empty means all.
	Rooms []string `json:"rooms,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Gateway) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.roomgate",
		New: func() caddy.Module { return new(Gateway) },
	}
}

// Provision loads the secret and users and attaches to the live state.
func (g *Gateway) Provision(ctx caddy.Context) error {
	log := ctx.Logger()
	secret, err := masterSecret(ctx, g.Secret)
	if err != nil {
		return err
	}
	users, err := g.loadUsers(log)
	if err != nil {
		return err
	}
	if err := registerCollector(ctx, gatewayCollector); err != nil {
		return fmt.Errorf("roomgate: metrics: %w", err)
	}
	g.stateKey = "gateway/" + secret.ID()
	store, cl, memKey, err := sharedState(ctx, secret)
	if err != nil {
		return err
	}
	g.memKey = memKey
	sharing := gateway.Sharing{Store: store}
	switch {
	case cl != nil:
		sharing.Lease = presenceLease
		g.stateKey += "/" + cl.key
	case g.PinRooms:
		letGoShared(g.memKey)
		g.memKey = ""
		return fmt.Errorf("roomgate: pin_rooms needs the roomgate_cluster global option: rooms are pinned to the media nodes registered there")
	}
	st, _, err := gatewayStates.LoadOrNew(g.stateKey, func() (caddy.Destructor, error) {
		return gateway.NewState(nil, sharing), nil
	})
	if err != nil {
		return err
	}
	var whSecret webhook.Secret
	if raw := caddy.NewReplacer().ReplaceKnown(g.WebhookSecret, ""); raw != "" {
		if whSecret, err = webhook.ParseSecret(raw); err != nil {
			gatewayStates.Delete(g.stateKey)
			g.stateKey = ""
			letGoShared(g.memKey)
			g.memKey = ""
			return fmt.Errorf("roomgate: webhook_secret: %w", err)
		}
	}
	var idp *oidc.Settings
	if g.OIDC != nil {
		if idp, err = g.OIDC.settings(); err != nil {
			gatewayStates.Delete(g.stateKey)
			g.stateKey = ""
			letGoShared(g.memKey)
			g.memKey = ""
			return fmt.Errorf("roomgate: %w", err)
		}
	}
	apiKey := caddy.NewReplacer().ReplaceKnown(g.APIKey, "")
	if apiKey != "" && len(apiKey) < minAPIKeyLen {
		gatewayStates.Delete(g.stateKey)
		g.stateKey = ""
		letGoShared(g.memKey)
		g.memKey = ""
		return fmt.Errorf("roomgate: api_key is %d characters; it must be at least %d", len(apiKey), minAPIKeyLen)
	}
	g.gw, err = gateway.New(gateway.Config{
		APIKey:             apiKey,
		RequireRooms:       g.AutoCreateRooms != nil && !*g.AutoCreateRooms,
		Store:              ctx.Storage(),
		HostProtected:      g.HostProtected,
		UserAuth:           g.UserAuth,
		Users:              users,
		OIDC:               idp,
		TokenTTL:           caddyDuration(g.TokenTTL),
		SignalPath:         g.SignalPath,
		HostGrace:          caddyDuration(g.HostGrace),
		TURN:               g.TURN,
		TURNTTL:            caddyDuration(g.TURNTTL),
		MaxConnsPerAddress: g.MaxConnsPerAddress,
		InvitationTTL:      caddyDuration(g.InvitationTTL),
		InvitationUses:     g.InvitationUses,
		ClientIP:           clientIP,
		Logger:             log,
		Audit:              auditLogger(ctx),
		PinRooms:           g.PinRooms,
		Webhooks:           g.Webhooks,
		WebhookSecret:      whSecret,
		WebhookRetryMax:    caddyDuration(g.WebhookRetryMax),
		Region:             g.Region,
		Route:              route,
	}, secret, st.(*gateway.State))
	if err != nil {
		gatewayStates.Delete(g.stateKey)
		g.stateKey = ""
		letGoShared(g.memKey)
		g.memKey = ""
		return fmt.Errorf("roomgate: %w", err)
	}
	g.gw.MountAPI(restapi.New(g.gw).Serve)
	return nil
}

// Cleanup lets go of the live state; the next config holds it if it uses the
// same secret.
func (g *Gateway) Cleanup() error {
	if g.gw != nil {
		g.gw.Close()
	}
	letGoShared(g.memKey)
	if g.stateKey == "" {
		return nil
	}
	_, err := gatewayStates.Delete(g.stateKey)
	return err
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return g.gw.ServeHTTP(w, r, next.ServeHTTP)
}

// minAPIKeyLen refuses API keys short enough to guess.
const minAPIKeyLen = 16

// clientIP is Caddy's resolved client address: the connection's peer, or a
// forwarded address only when that peer is a configured trusted proxy.
func clientIP(r *http.Request) netip.Addr {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// auditLogger is the audit log: a logger of its own, named roomgate.audit,
// that a Caddyfile's log option routes (include roomgate.audit).
func auditLogger(ctx caddy.Context) *zap.Logger { return ctx.Logger(auditLog{}) }

// auditLog only names the audit logger; it is not a module anyone loads.
type auditLog struct{}

func (auditLog) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "roomgate.audit", New: func() caddy.Module { return auditLog{} }}
}

// UpstreamVar is the request variable that names the media node an
// admitted request goes to: reverse_proxy {http.vars.roomgate_upstream}.
const UpstreamVar = "roomgate_upstream"

func route(r *http.Request, upstream string) {
	caddyhttp.SetVar(r.Context(), UpstreamVar, upstream)
}

func caddyDuration(d caddy.Duration) time.Duration { return time.Duration(d) }

// Interface guards
var (
	_ caddy.Provisioner           = (*Gateway)(nil)
	_ caddy.CleanerUpper          = (*Gateway)(nil)
	_ caddyhttp.MiddlewareHandler = (*Gateway)(nil)
)
