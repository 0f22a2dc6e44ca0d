package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/hostlogin/oidc"
	"github.com/roomgate/roomgate/webhook"
	"go.uber.org/zap"
)

// Defaults for what Config leaves zero.
const (
	DefaultTokenTTL   = time.Hour
	DefaultSignalPath = "/ws"
	DefaultHostGrace  = 30 * time.Second
	DefaultTURNTTL    = 10 * time.Minute
	// DefaultMaxConnsPerAddress bounds one address's signalling connections:
	// a large office behind one NAT, not a flood.
	DefaultMaxConnsPerAddress = 200
)

// Config is what the operator decides; see caddymodule for the words.
type Config struct {
	// HostProtected lets guests without credentials in only while a host is in the room.
	HostProtected bool
	// UserAuth lets nobody in without credentials or a token.
	UserAuth bool
	// Users are the hosts who may log in.
	Users []User
	// OIDC lets hosts log in through the organisation's OpenID Provider;
	// nil: no such login.
	OIDC *oidc.Settings
	// TokenTTL is the lifetime of host logins and the default for peer tokens.
	TokenTTL time.Duration
	// SignalPath is where the signalling WebSocket is.
	SignalPath string
	// HostGrace is how long a host's session outlives its last signalling
	// connection, so a page reload or a network blip does not end the meeting.
	HostGrace time.Duration
	// ClientIP returns the address the server resolved for the request (trusted
	// proxies honoured). The gateway never looks at forwarding headers itself.
	ClientIP func(*http.Request) netip.Addr
	// Logger gets operational events; it never gets a password or a token.
	Logger *zap.Logger
	// Audit gets one line per decision at the door and per change made
	// through the API (audit.go); nil: none.
	Audit *zap.Logger
	// APIKey enables the REST API; empty: the API answers 404.
	APIKey string
	// Store keeps what must survive a restart (revoked tokens, API rooms);
	// nil: memory only.
	Store Store
	// RequireRooms refuses rooms nobody made through the API (the
	// Caddyfile's `auto_create_rooms off`).
	RequireRooms bool
	// TURN are the turn: and turns: URLs handed to admitted peers, with a
	// credential minted for each admission; empty: no TURN.
	TURN []string
	// TURNTTL is how long a TURN credential may start allocations. A call
	// outlives it: the TURN server keeps refreshing allocations made in time.
	TURNTTL time.Duration
	// MaxConnsPerAddress bounds the signalling connections open at once
	// from one client address (one /64 for IPv6); -1: no bound.
	MaxConnsPerAddress int
	// PinRooms sends each room's signalling to the media node the room is
	// pinned to in the shared state, through Route.
	PinRooms bool
	// Route tells the next handler where to send an admitted request: the
	// pinned node's signalling address.
	Route func(r *http.Request, upstream string)
	// Region is where this gateway is; new rooms go to nodes of the same
	// region first.
	Region string
	// Webhooks are the receivers of event notifications; WebhookSecret
	// signs them (Standard Webhooks). WebhookRetryMax caps the wait
	// between two tries of a delivery (default 1h).
	Webhooks        []string
	WebhookSecret   webhook.Secret
	WebhookRetryMax time.Duration
	// InvitationTTL and InvitationUses are the lifetime and the use count
	// of the invitations a host's Copy link makes on a user_auth site
	// (default 24h and 50).
	InvitationTTL  time.Duration
	InvitationUses int
}

func (c *Config) fillDefaults() {
	if c.TokenTTL == 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.SignalPath == "" {
		c.SignalPath = DefaultSignalPath
	}
	if c.HostGrace == 0 {
		c.HostGrace = DefaultHostGrace
	}
	if c.TURNTTL == 0 {
		c.TURNTTL = DefaultTURNTTL
	}
	if c.MaxConnsPerAddress == 0 {
		c.MaxConnsPerAddress = DefaultMaxConnsPerAddress
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Audit == nil {
		c.Audit = zap.NewNop()
	}
	if c.InvitationTTL == 0 {
		c.InvitationTTL = DefaultInvitationTTL
	}
	if c.InvitationUses == 0 {
		c.InvitationUses = DefaultInvitationUses
	}
	if c.WebhookRetryMax == 0 {
		c.WebhookRetryMax = webhook.DefaultRetryMax
	}
}

// validate refuses a configuration that cannot work, in the operator's words.
func (c *Config) validate() error {
	var errs []error
	if c.ClientIP == nil {
		errs = append(errs, errors.New("no client address resolver"))
	}
	if c.TokenTTL < time.Minute {
		errs = append(errs, fmt.Errorf("token_ttl %v is shorter than a minute", c.TokenTTL))
	}
	if c.InvitationTTL < time.Minute {
		errs = append(errs, fmt.Errorf("invitation_ttl %v is shorter than a minute", c.InvitationTTL))
	}
	if c.InvitationUses < 1 || c.InvitationUses > accesstoken.MaxUses {
		errs = append(errs, fmt.Errorf("invitation_uses %d must be 1 to %d", c.InvitationUses, accesstoken.MaxUses))
	}
	if c.HostGrace < 0 {
		errs = append(errs, errors.New("host_grace must not be negative"))
	}
	switch {
	case !strings.HasPrefix(c.SignalPath, "/"):
		errs = append(errs, fmt.Errorf("signal_path %q must start with /", c.SignalPath))
	case matchForm(c.SignalPath) != c.SignalPath:
		// The gateway compares paths as Caddy's matchers do; a path in
		// another form would be one no request ever has.
		errs = append(errs, fmt.Errorf("signal_path %q must be lower case and clean: %q", c.SignalPath, matchForm(c.SignalPath)))
	case pagePath(c.SignalPath):
		errs = append(errs, fmt.Errorf("signal_path %q is one of the gateway's own pages or calls", c.SignalPath))
	}
	if len(c.TURN) > 8 {
		errs = append(errs, errors.New("turn takes at most 8 URLs"))
	}
	for _, u := range c.TURN {
		if !ValidTURNURL(u) {
			errs = append(errs, fmt.Errorf("turn %q must be turn:host[:port][?transport=udp|tcp] or turns:…", u))
		}
	}
	if c.TURNTTL < 0 {
		errs = append(errs, errors.New("turn_ttl must not be negative"))
	}
	if len(c.Webhooks) > 0 && len(c.WebhookSecret) == 0 {
		errs = append(errs, errors.New("webhook needs webhook_secret: receivers must be able to check what they get"))
	}
	for _, u := range c.Webhooks {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("webhook %q must be an http:// or https:// URL", u))
		}
	}
	if c.PinRooms && c.Route == nil {
		errs = append(errs, errors.New("pin_rooms needs a way to route requests"))
	}
	if c.OIDC != nil {
		if err := c.OIDC.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.OIDC != nil && !c.UserAuth && c.OIDC.Participants.Any() {
		errs = append(errs, errors.New("oidc participants lets people log in to join rooms, which only a user_auth site asks of them: add user_auth or drop participants"))
	}
	if c.UserAuth && len(c.Users) == 0 && c.OIDC == nil {
		errs = append(errs, errors.New("user_auth is on but no user is configured: nobody could log in"))
	}
	errs = append(errs, hostlogin.CheckUsers(c.Users)...)
	return errors.Join(errs...)
}

// ValidTURNURL accepts what RTCIceServer.urls takes for TURN (RFC 7065),
// and nothing that could carry a credential.
func ValidTURNURL(u string) bool {
	rest, ok := strings.CutPrefix(u, "turn:")
	if !ok {
		rest, ok = strings.CutPrefix(u, "turns:")
	}
	if !ok || rest == "" || len(u) > 256 || strings.ContainsAny(rest, "@/# \t") {
		return false
	}
	host, query, _ := strings.Cut(rest, "?")
	switch query {
	case "", "transport=udp", "transport=tcp":
	default:
		return false
	}
	return host != "" && !strings.HasPrefix(host, ":")
}
