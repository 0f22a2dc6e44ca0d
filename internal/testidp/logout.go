package testidp

import (
	"context"
	"crypto/rand"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The op package ends sessions (RP-initiated logout, its end_session
// endpoint) but sends no back-channel logout tokens: LogoutClaims and Sign
// make one as the provider would, signed with its own key, for the test
// to POST as the provider does.

// BackchannelEvent is the events claim's member of a logout token.
const BackchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutClaims are a back-channel logout token's claims for the person
// with subject sub (or, with sid, one of their sessions), as
// OpenID Connect Back-Channel Logout 1.0 has them: no nonce, a fresh jti.
func (p *Provider) LogoutClaims(sub, sid string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": p.Issuer, "aud": ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti":    rand.Text(),
		"events": map[string]any{BackchannelEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// Subject is the subject (sub) the provider gives the user named username.
func (p *Provider) Subject(username string) string {
	for id, u := range p.users {
		if u.Username == username {
			return id
		}
	}
	return ""
}

// Ended lists, for each logout at the provider's end_session endpoint,
// the client it was asked for and whose session ended ("client|subject";
// the subject is empty when the client named itself only, by client_id).
func (p *Provider) Ended() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ended)
}

// TerminateSession is the end_session endpoint's last step: the example
// storage forgets the person's tokens, and the provider notes whose
// session ended.
func (s *store) TerminateSession(ctx context.Context, userID, clientID string) error {
	s.p.mu.Lock()
	s.p.ended = append(s.p.ended, clientID+"|"+userID)
	s.p.mu.Unlock()
	return s.Storage.TerminateSession(ctx, userID, clientID)
}
