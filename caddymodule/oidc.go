package caddymodule

import (
	"fmt"
	"os"
	"regexp"

	"github.com/caddyserver/caddy/v2"
	"github.com/roomgate/roomgate/gateway/hostlogin/oidc"
)

// OIDCConfig lets hosts log in with the organisation's OpenID Connect
// provider (Keycloak, Authentik, Entra ID, Google…), beside or instead of
// `user` lines.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (https; http only on loopback),
	// where /.well-known/openid-configuration is found. Placeholders such
	// as {env.ROOMGATE_OIDC_ISSUER} are expanded at start, as in ClientID.
	Issuer string `json:"issuer"`

	// ClientID is roomgate's client id at the provider.
	ClientID string `json:"client_id"`

	// ClientSecret is roomgate's client secret at the provider, as a
	// placeholder read at start ({env.ROOMGATE_OIDC_SECRET}): the secret
	// itself is never in the configuration, a log or an error.
	ClientSecret string `json:"client_secret"`

	// Scopes are asked for beyond openid. Default: profile email. Add the
	// one that makes the provider send groups where it needs one.
	Scopes []string `json:"scopes,omitempty"`

	// UsernameClaims name the host: the first claim that holds a name
	// (email only when the provider says email_verified). Default:
	// preferred_username, email.
	UsernameClaims []string `json:"username_claims,omitempty"`

	// GroupsClaim is the ID token claim holding the person's groups.
	// Default: groups.
	GroupsClaim string `json:"groups_claim,omitempty"`

	// Label names the provider on the login page's button ("Log in with
	// …"). Default: the issuer's host name.
	Label string `json:"label,omitempty"`

	// AllowEveryone makes everyone the provider lets in a host, in every
	// room. One of the Allow fields must be set: the operator says who.
	AllowEveryone bool `json:"allow_everyone,omitempty"`

	// AllowEmailDomains make hosts, in every room, of the people whose
	// email the provider verified is at one of these domains.
	AllowEmailDomains []string `json:"allow_email_domains,omitempty"`

	// AllowGroups make hosts of the people in one of these groups, each
	// for its rooms.
	AllowGroups []OIDCGroup `json:"allow_groups,omitempty"`

	// Participants, on a user_auth site, may log in through the provider
	// from a room's page and join rooms they may not host (whom the allow
	// rules make a host of some room may too). Default: nobody else.
	Participants *OIDCParticipants `json:"participants,omitempty"`
}

// OIDCParticipants are who may join as participants, besides the hosts.
type OIDCParticipants struct {
	// Everyone the provider lets in may join.
	Everyone bool `json:"everyone,omitempty"`
	// EmailDomains admit the people whose verified email is at one of them.
	EmailDomains []string `json:"email_domains,omitempty"`
	// Groups admit the people in one of them.
	Groups []string `json:"groups,omitempty"`
}

// OIDCGroup is a value of the groups claim that makes a host.
type OIDCGroup struct {
	// Group is the value, as the provider writes it (Keycloak: /hosts
	// with full paths).
	Group string `json:"group"`
	// Rooms are the rooms its members may open; empty means all.
	Rooms []string `json:"rooms,omitempty"`
}

// envPlaceholder is the form the client secret must take: read from the
// environment at start.
var envPlaceholder = regexp.MustCompile(`^\{env\.([A-Za-z_][A-Za-z0-9_]*)\}$`)

// settings expands the secret and maps the configuration onto the
// login's settings. An error names the variable, never its value.
func (c *OIDCConfig) settings() (*oidc.Settings, error) {
	m := envPlaceholder.FindStringSubmatch(c.ClientSecret)
	if m == nil {
		return nil, fmt.Errorf("oidc client_secret must be read from the environment: write {env.NAME}")
	}
	secret := caddy.NewReplacer().ReplaceKnown(c.ClientSecret, "")
	if secret == "" {
		return nil, fmt.Errorf("oidc client_secret: the environment variable %s is empty or not set", m[1])
	}
	repl := caddy.NewReplacer()
	s := &oidc.Settings{
		Issuer: repl.ReplaceKnown(c.Issuer, ""), ClientID: repl.ReplaceKnown(c.ClientID, ""), ClientSecret: secret, Scopes: c.Scopes,
		UsernameClaims: c.UsernameClaims, GroupsClaim: c.GroupsClaim, Label: c.Label,
		Allow: oidc.Allow{Everyone: c.AllowEveryone, EmailDomains: c.AllowEmailDomains},
	}
	for _, g := range c.AllowGroups {
		s.Allow.Groups = append(s.Allow.Groups, oidc.Group{Name: g.Group, Rooms: allRoomsIfStar(g.Rooms)})
	}
	if p := c.Participants; p != nil {
		s.Participants = oidc.Allow{Everyone: p.Everyone, EmailDomains: p.EmailDomains}
		for _, g := range p.Groups {
			s.Participants.Groups = append(s.Participants.Groups, oidc.Group{Name: g})
		}
	}
	return s, nil
}

// envSet says whether the variable a placeholder names is set here.
func envSet(placeholder string) (string, bool) {
	m := envPlaceholder.FindStringSubmatch(placeholder)
	if m == nil {
		return "", false
	}
	v, ok := os.LookupEnv(m[1])
	return m[1], ok && v != ""
}
