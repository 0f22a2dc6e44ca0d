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
	p, err := s.identify(c)
	if err != nil {
		return person{}, "", err
	}
	rooms, ok := s.Allow.match(c, s.GroupsClaim)
	if !ok {
		return person{}, p.user, errNotAllowed
	}
	p.rooms = rooms
	return p, p.user, nil
}

// identify is the person's name, from the first username claim that holds
// one (an email only when verified), and the name to show.
func (s *Settings) identify(c claims) (person, error) {
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
		return person{}, fmt.Errorf("%w (%s)", errNoUsableName, strings.Join(s.UsernameClaims, ", "))
	}
	return person{user: user, display: displayName(c.str("name"), user)}, nil
}

// match says whether a rule admits the person, and to which rooms (nil:
// all): everyone, a verified email at one of the domains, or one of the
// groups.
func (a *Allow) match(c claims, groupsClaim string) ([]string, bool) {
	if a.Everyone {
		return nil, true
	}
	if email := strings.ToLower(c.str("email")); email != "" && c.emailVerified() {
		if at := strings.LastIndexByte(email, '@'); at > 0 && slices.Contains(a.EmailDomains, email[at+1:]) {
			return nil, true // a domain opens every room
		}
	}
	groups := c.strings(groupsClaim)
	var rooms []string
	matched := false
	for _, g := range a.Groups {
		if !slices.Contains(groups, g.Name) {
			continue
		}
		if len(g.Rooms) == 0 {
			return nil, true
		}
		matched = true
		for _, r := range g.Rooms {
			if !slices.Contains(rooms, r) {
				rooms = append(rooms, r)
			}
		}
	}
	return rooms, matched
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
