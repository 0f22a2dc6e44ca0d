package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
)

// Settings are the operator's words on logging hosts in through an OpenID
// Provider (caddymodule maps the Caddyfile's `oidc` block onto them).
type Settings struct {
	// Issuer is the provider's issuer URL, as its discovery document
	// (/.well-known/openid-configuration) names it.
	Issuer string
	// ClientID and ClientSecret are roomgate's registration at the provider.
	ClientID     string
	ClientSecret string
	// Scopes are asked for beyond openid; empty: profile and email.
	Scopes []string
	// UsernameClaims name the host, the first that holds a name (email
	// only when email_verified); empty: preferred_username, then email.
	UsernameClaims []string
	// GroupsClaim is the claim holding the person's groups; "": groups.
	GroupsClaim string
	// Label is the provider's name on the login button; "": the issuer's host.
	Label string
	// Allow says who may be a host; at least one way must be given.
	Allow Allow
	// Participants, on a user_auth site, are who may join a room they may
	// not host after logging in through the provider from its page, besides
	// whom Allow admits to some room; its groups name no rooms.
	Participants Allow
}

// Allow is who, among the people the provider lets in, may be a host.
type Allow struct {
	// Everyone the provider lets in may be a host, in every room.
	Everyone bool
	// EmailDomains admit people whose verified email is at one of them.
	EmailDomains []string
	// Groups admit people in one of them, to the group's rooms.
	Groups []Group
}

// Group is one value of the groups claim that makes a host.
type Group struct {
	Name string
	// Rooms are the rooms its members may open; empty: all.
	Rooms []string
}

// Defaults for what Settings leaves empty.
var (
	DefaultScopes         = []string{"profile", "email"}
	DefaultUsernameClaims = []string{"preferred_username", "email"}
)

// DefaultGroupsClaim is the claim groups are read from by default.
const DefaultGroupsClaim = "groups"

const maxLabelLen = 64

func (s *Settings) fillDefaults() {
	if len(s.Scopes) == 0 {
		s.Scopes = DefaultScopes
	}
	if len(s.UsernameClaims) == 0 {
		s.UsernameClaims = DefaultUsernameClaims
	}
	if s.GroupsClaim == "" {
		s.GroupsClaim = DefaultGroupsClaim
	}
	if s.Label == "" {
		if u, err := url.Parse(s.Issuer); err == nil {
			s.Label = u.Hostname()
		}
	}
}

// Validate says what is wrong with the settings, in the operator's words;
// it never repeats the client secret.
func (s *Settings) Validate() error {
	var errs []error
	if err := CheckIssuer(s.Issuer); err != nil {
		errs = append(errs, err)
	}
	if s.ClientID == "" {
		errs = append(errs, errors.New("oidc needs client_id: roomgate's client id at the identity provider"))
	}
	if s.ClientSecret == "" {
		errs = append(errs, errors.New("oidc needs client_secret, from the environment ({env.NAME}), and it is empty"))
	}
	if err := s.Allow.check(); err != nil {
		errs = append(errs, err)
	}
	if err := s.Participants.checkParticipants(); err != nil {
		errs = append(errs, err)
	}
	if len(s.Label) > maxLabelLen {
		errs = append(errs, fmt.Errorf("oidc label is longer than %d characters", maxLabelLen))
	}
	return errors.Join(errs...)
}

// CheckIssuer refuses an issuer that is not an absolute https URL (http
// only on loopback, for tests and a provider on the same machine).
func CheckIssuer(issuer string) error {
	if issuer == "" {
		return errors.New("oidc needs the issuer URL of the identity provider")
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("oidc issuer %q must be an https:// URL with no query, fragment or user", issuer)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("oidc issuer %q must be https:// (plain http only on loopback)", issuer)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *Allow) check() error {
	if !a.Everyone && len(a.EmailDomains) == 0 && len(a.Groups) == 0 {
		return errors.New("oidc must say who may be a host: allow everyone, allow email_domain <domain…>, or allow group <group> [rooms …]")
	}
	if a.Everyone && (len(a.EmailDomains) > 0 || len(a.Groups) > 0) {
		return errors.New("oidc: allow everyone makes the other allow lines meaningless; keep one or the other")
	}
	for _, d := range a.EmailDomains {
		if err := CheckDomain(d); err != nil {
			return err
		}
	}
	for _, g := range a.Groups {
		if err := CheckGroup(g); err != nil {
			return err
		}
	}
	return nil
}

// CheckDomain refuses what cannot be the domain of an email address.
func CheckDomain(d string) error {
	if d == "" || strings.ContainsAny(d, "@ \t/") || d != strings.ToLower(d) || strings.HasPrefix(d, ".") {
		return fmt.Errorf("oidc email domain %q must be a lower-case domain such as example.com", d)
	}
	return nil
}

// CheckGroup refuses an empty group and rooms that are no room's names.
func CheckGroup(g Group) error {
	if g.Name == "" {
		return errors.New("oidc allow group needs the group's value")
	}
	for _, r := range g.Rooms {
		if !accesstoken.ValidRoom(r) {
			return fmt.Errorf("oidc group %q: room %q must be 1-64 of A-Z a-z 0-9 _ -", g.Name, r)
		}
	}
	return nil
}

func (a *Allow) checkParticipants() error {
	for _, d := range a.EmailDomains {
		if err := CheckDomain(d); err != nil {
			return err
		}
	}
	for _, g := range a.Groups {
		if g.Name == "" || len(g.Rooms) > 0 {
			return errors.New("oidc participants group takes the group's values only, no rooms: a participant may join any room")
		}
	}
	return nil
}

// Any says whether the rule admits anyone at all.
func (a *Allow) Any() bool { return a.Everyone || len(a.EmailDomains) > 0 || len(a.Groups) > 0 }
