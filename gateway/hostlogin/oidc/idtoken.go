package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// clockSkew is how far the provider's clock may be from ours.
const clockSkew = time.Minute

// verify checks an ID token for the login b: go-oidc checks the signature
// against the provider's published keys with only the announced
// algorithms, the issuer, the audience and the expiry; this adds the
// nonce, the authorized party and the issue time, which go-oidc leaves to
// its caller.
func (l *Login) verify(ctx context.Context, p *provider, raw string, b binding) (*gooidc.IDToken, claims, error) {
	t, err := p.verifier.Verify(gooidc.ClientContext(ctx, l.cfg.HTTPClient), raw)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(b.nonce())) != 1 {
		return nil, nil, errors.New("the nonce is not this login's")
	}
	var c claims
	if err := t.Claims(&c); err != nil {
		return nil, nil, err
	}
	azp, hasAzp := c["azp"]
	if len(t.Audience) > 1 && !hasAzp {
		return nil, nil, errors.New("several audiences and no authorized party (azp)")
	}
	if hasAzp && azp != l.cfg.ClientID {
		return nil, nil, errors.New("issued to another client (azp)")
	}
	now := l.cfg.Clock.Now()
	switch {
	case t.IssuedAt.IsZero():
		return nil, nil, errors.New("no issue time (iat)")
	case t.IssuedAt.After(now.Add(clockSkew)):
		return nil, nil, errors.New("issued in the future (iat)")
	case t.IssuedAt.Before(b.started.Add(-clockSkew)):
		return nil, nil, errors.New("issued before this login began (iat)")
	case t.Subject == "":
		return nil, nil, errors.New("no subject (sub)")
	}
	return t, c, nil
}
