package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/netip"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
)

// BackchannelLogoutPath is where the provider POSTs a logout token
// (OpenID Connect Back-Channel Logout 1.0): the operator registers
// https://<site>/login/oidc/backchannel-logout with the provider.
const BackchannelLogoutPath = "/login/oidc/backchannel-logout"

// backchannelEvent is the member of a logout token's events claim that
// makes it one.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenMaxAge is how old (by iat) a logout token may be: a provider
// sends it at once, and its jti is remembered only this long (plus the
// skew) to refuse a replay.
const logoutTokenMaxAge = 5 * time.Minute

// maxLogoutBody bounds the form a provider POSTs.
const maxLogoutBody = 16 << 10

// Refused logout tokens fill a bucket per address, as failed logins do: a
// forged token makes go-oidc fetch the provider's keys again, and the
// endpoint is anyone's to POST to. The provider's own tokens never fail.
const (
	logoutFailures = 20
	logoutRefill   = 6 * time.Second
)

var errLogoutTooMany = &httperror.Refusal{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
	Message: "too many refused logout tokens; try again later", RetryAfter: logoutRefill}

// Observer hears what the audit log keeps of the provider's logouts and
// of participants' logins (hosts' are hostlogin.Observer's).
type Observer interface {
	// IdPLogout: a logout token from addr ended sessions, or was refused
	// by rule ("ok" when it was taken).
	IdPLogout(addr netip.Addr, rule string, sessions int)
	// ParticipantLogin: user logged in from addr to join room with the
	// token whose id is token.
	ParticipantLogin(addr netip.Addr, user, room, token string)
}

// The refusals of a back-channel logout; the provider reads the status,
// the operator the audit log's rule.
var (
	errLogoutInvalid = httperror.Refuse(http.StatusBadRequest, "logout_token_invalid",
		"the logout token could not be verified")
	errLogoutReplayed = httperror.Refuse(http.StatusBadRequest, "logout_token_replayed",
		"this logout token was used already")
)

// ServeBackchannelLogout is POST /login/oidc/backchannel-logout with
// logout_token=…: the provider says that a person (sub) or one of their
// sessions at it (sid) logged out. Every host session of roomgate's it
// names ends, on every gateway, and the hosts' connections are cut, as a
// logout's are.
func (l *Login) ServeBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	addr := l.cfg.ClientIP(r)
	bucket := cluster.Bucket{Key: "bcl:" + hostlogin.AddrKey(addr), Burst: logoutFailures, Refill: logoutRefill}
	refuse := func(rf *httperror.Refusal, reason string) {
		l.cfg.Log.Info("back-channel logout refused", zap.String("rule", rf.Code), zap.String("reason", reason))
		l.cfg.Audit.IdPLogout(addr, rf.Code, 0)
		if rf.Status == http.StatusBadRequest {
			ctx, cancel := l.cfg.Bound(r.Context())
			defer cancel()
			if err := l.cfg.Store.LoginFailed(ctx, bucket); err != nil {
				l.cfg.Log.Warn("counting a refused logout token", zap.Error(err))
			}
		}
		rf.Write(w)
	}
	ctx, cancel := l.cfg.Bound(r.Context())
	wait, err := l.cfg.Store.LoginWait(ctx, bucket)
	cancel()
	switch {
	case err != nil:
		refuse(httperror.Shared(err), "the shared state: "+err.Error())
		return
	case wait > 0:
		refuse(errLogoutTooMany, "too many refused from this address")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		refuse(httperror.Refuse(http.StatusUnsupportedMediaType, "unsupported_media_type", "send a form with logout_token"), "not a form")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		refuse(errLogoutInvalid, "the form could not be read")
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		refuse(errLogoutInvalid, "no logout_token")
		return
	}
	p := l.provider.Load()
	if p == nil {
		refuse(errUnreachable, "not discovered yet")
		return
	}
	lt, err := l.verifyLogout(r.Context(), p, raw)
	if err != nil {
		refuse(errLogoutInvalid, err.Error())
		return
	}
	if rf := l.logoutOnce(r.Context(), lt); rf != nil {
		refuse(rf, "the jti was seen already")
		return
	}
	n, err := l.endIdPSessions(r.Context(), addr, lt)
	if err != nil {
		refuse(httperror.Shared(err), "ending the sessions: "+err.Error())
		return
	}
	l.cfg.Log.Info("back-channel logout", zap.Int("sessions", n))
	l.cfg.Audit.IdPLogout(addr, "ok", n)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// logoutToken is what a verified logout token names.
type logoutToken struct {
	issuer, subject, sid, jti string
	issued                    time.Time
}

// verifyLogout checks a logout token as strictly as an ID token (go-oidc:
// the provider's keys and announced algorithms, iss, aud, exp; here azp
// and iat) and as the specification asks beyond: the back-channel logout
// event, a sub or a sid, a jti, and no nonce, so that no ID token can be
// passed off as one.
func (l *Login) verifyLogout(ctx context.Context, p *provider, raw string) (logoutToken, error) {
	t, err := p.verifier.Verify(gooidc.ClientContext(ctx, l.cfg.HTTPClient), raw)
	if err != nil {
		return logoutToken{}, err
	}
	var c claims
	if err := t.Claims(&c); err != nil {
		return logoutToken{}, err
	}
	if _, ok := c["nonce"]; ok {
		return logoutToken{}, errors.New("a nonce: an ID token, not a logout token")
	}
	events, _ := c["events"].(map[string]any)
	if _, ok := events[backchannelEvent].(map[string]any); !ok {
		return logoutToken{}, errors.New("no back-channel logout event")
	}
	azp, hasAzp := c["azp"]
	if len(t.Audience) > 1 && !hasAzp || hasAzp && azp != l.cfg.ClientID {
		return logoutToken{}, errors.New("issued to another client (azp)")
	}
	lt := logoutToken{issuer: t.Issuer, subject: t.Subject, sid: c.str("sid"), jti: c.str("jti"), issued: t.IssuedAt}
	now := l.cfg.Clock.Now()
	switch {
	case lt.subject == "" && lt.sid == "":
		return logoutToken{}, errors.New("neither sub nor sid")
	case lt.jti == "":
		return logoutToken{}, errors.New("no jti")
	case lt.issued.IsZero():
		return logoutToken{}, errors.New("no issue time (iat)")
	case lt.issued.After(now.Add(clockSkew)):
		return logoutToken{}, errors.New("issued in the future (iat)")
	case lt.issued.Before(now.Add(-logoutTokenMaxAge - clockSkew)):
		return logoutToken{}, errors.New("issued too long ago (iat)")
	}
	return lt, nil
}

// logoutOnce refuses a logout token seen before, on any gateway: the
// shared store's single-use record, as for a login's state. The record
// lasts as long as the token could pass verifyLogout.
func (l *Login) logoutOnce(ctx context.Context, lt logoutToken) *httperror.Refusal {
	ctx, cancel := l.cfg.Bound(ctx)
	defer cancel()
	h := sha256.Sum256([]byte(lt.issuer + "\x00" + lt.jti))
	_, err := l.cfg.Store.TokenJoin(ctx, cluster.TokenJoin{ID: "oidc-logout|" + hex.EncodeToString(h[:]),
		Expires: lt.issued.Add(logoutTokenMaxAge + 2*clockSkew), MaxUses: 1})
	switch {
	case errors.Is(err, cluster.ErrUsedUp):
		return errLogoutReplayed
	case err != nil:
		return httperror.Shared(err)
	}
	return nil
}

// endIdPSessions ends the host sessions the token names: every gateway
// hears of each (the shared store's event) and cuts its connections.
func (l *Login) endIdPSessions(ctx context.Context, addr netip.Addr, lt logoutToken) (int, error) {
	ctx, cancel := l.cfg.Bound(ctx)
	defer cancel()
	found, err := l.cfg.Store.IdPSessions(ctx, lt.issuer, lt.subject, lt.sid)
	if err != nil {
		return 0, err
	}
	for _, s := range found {
		if err := l.cfg.Logins.EndSession(ctx, s.ID, "logged out at the identity provider"); err != nil {
			return 0, err
		}
		l.cfg.Tell.LoggedOut(addr, s.User, s.ID)
	}
	return len(found), nil
}
