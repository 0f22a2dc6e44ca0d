package oidc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/roomgate/roomgate/accesstoken"
)

// maxUsernameLen bounds the name a provider gives, as a password login's.
const maxUsernameLen = 128

// person is whom the provider vouched for, as a host of this site.
type person struct {
	user    string
	display string
	rooms   []string // empty: all
}

// claims are an ID token's claims.
type claims map[string]any

func (c claims) str(name string) string {
	s, _ := c[name].(string)
	return strings.TrimSpace(s)
}

// emailVerified reads email_verified; some providers send it as a string.
func (c claims) emailVerified() bool {
	switch v := c["email_verified"].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// strings is a claim that holds one string or a list of them.
func (c claims) strings(name string) []string {
	switch v := c[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// admit applies the operator's rule to what the provider said. It returns
// the person, or the refusal and the name (if any) to note it under.
func (s *Settings) admit(c claims) (person, string, error) {
	user := ""
	for _, name := range s.UsernameClaims {
		v := c.str(name)
		if v == "" || (name == "email" && !c.emailVerified()) {
			continue // an unverified address names nobody
		}
		user = v
		break
	}
	if user == "" || len(user) > maxUsernameLen || strings.IndexFunc(user, unicode.IsControl) >= 0 {
		return person{}, "", fmt.Errorf("%w (%s)", errNoUsableName, strings.Join(s.UsernameClaims, ", "))
	}
	p := person{user: user, display: displayName(c.str("name"), user)}
	if s.Allow.Everyone {
		return p, user, nil
	}
	if email := strings.ToLower(c.str("email")); email != "" && c.emailVerified() {
		if at := strings.LastIndexByte(email, '@'); at > 0 && slices.Contains(s.Allow.EmailDomains, email[at+1:]) {
			return p, user, nil // a domain opens every room
		}
	}
	groups := c.strings(s.GroupsClaim)
	matched := false
	for _, g := range s.Allow.Groups {
		if !slices.Contains(groups, g.Name) {
			continue
		}
		if len(g.Rooms) == 0 {
			p.rooms = nil
			return p, user, nil
		}
		matched = true
		for _, r := range g.Rooms {
			if !slices.Contains(p.rooms, r) {
				p.rooms = append(p.rooms, r)
			}
		}
	}
	if !matched {
		return person{}, user, errNotAllowed
	}
	return p, user, nil
}

var (
	errNotAllowed   = errors.New("in none of the allowed groups or email domains")
	errNoUsableName = errors.New("no usable name in the claims")
)

// displayName is the provider's name for the person when a room can show
// it, else the username when it can.
func displayName(name, user string) string {
	for _, n := range []string{name, user} {
		if n != "" && accesstoken.ValidDisplayName(n) {
			return n
		}
	}
	return ""
}
