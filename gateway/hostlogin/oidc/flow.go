package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

// ServeStart is GET /login/oidc?next=…: the browser is bound to a new
// login and sent to the provider.
func (l *Login) ServeStart(w http.ResponseWriter, r *http.Request) {
	p := l.provider.Load()
	if p == nil {
		l.refuse(w, r, errUnreachable, "", "not discovered yet")
		return
	}
	b := newBinding(l.cfg.Clock.Now(), safeNext(r.URL.Query().Get("next")))
	setBindingCookie(w, b.encode(l.cfg.Key))
	hostlogin.SeeOther(w, l.oauth(p, r).AuthCodeURL(b.state(), oauth2.S256ChallengeOption(b.verifier()), gooidc.Nonce(b.nonce())))
}

// ServeCallback is GET /login/oidc/callback?code=…&state=…: the provider's
// answer, checked against the login this browser started, used once, the
// code exchanged, the ID token verified, the person admitted or not.
func (l *Login) ServeCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Whatever happens, this browser's login is over.
	clearBindingCookie(w)
	b, ok := readBinding(r, l.cfg.Key, l.cfg.Clock.Now())
	switch {
	case !ok:
		l.refuse(w, r, errExpired, "", "no login of this browser's in time")
		return
	case q.Get("state") == "" || !sameString(q.Get("state"), b.state()):
		l.refuse(w, r, errStateMismatch, "", "the state is not this browser's login's")
		return
	case q.Get("error") != "":
		// The provider's own refusal (the person cancelled, or may not use
		// this client); its words are not repeated: anyone can write them.
		l.refuse(w, r, errProviderRefused, "", "the provider answered an error")
		return
	case q.Get("code") == "":
		l.refuse(w, r, errProviderRefused, "", "no code")
		return
	}
	p := l.provider.Load()
	if p == nil {
		l.refuse(w, r, errUnreachable, "", "not discovered")
		return
	}
	if rf := l.useOnce(r.Context(), b); rf != nil {
		l.refuse(w, r, rf, "", "the login was used already")
		return
	}
	ctx := gooidc.ClientContext(r.Context(), l.cfg.HTTPClient)
	tok, err := l.oauth(p, r).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(b.verifier()))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			l.refuse(w, r, errProviderRefused, "", "the code was refused: "+re.ErrorCode)
		} else {
			l.refuse(w, r, errUnreachable, "", "exchanging the code failed")
		}
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		l.refuse(w, r, errBadIDToken, "", "no ID token")
		return
	}
	idt, c, err := l.verify(r.Context(), p, raw, b)
	if err != nil {
		l.refuse(w, r, errBadIDToken, "", err.Error())
		return
	}
	room, joining := joinRoom(b.next)
	joining = joining && l.cfg.Participant != nil
	var who person
	var user string
	host := true
	if joining {
		who, host, err = l.cfg.attend(c, room)
		user = who.user
	} else {
		who, user, err = l.cfg.admit(c)
	}
	if err != nil {
		rf := errNoName
		switch {
		case errors.Is(err, errNotAllowed) && joining:
			rf = notAllowedToJoin(l.cfg.Label)
		case errors.Is(err, errNotAllowed):
			rf = notAllowed(l.cfg.Label)
		}
		l.refuse(w, r, rf, user, err.Error())
		return
	}
	addr := l.cfg.ClientIP(r)
	if !host {
		l.admitParticipant(w, r, addr, b.next, Participant{Room: room, User: who.user, Display: who.display, Subject: idt.Subject})
		return
	}
	token, exp, rf := l.cfg.Logins.LoginVouched(r, who.user, who.display,
		cluster.IdPLogin{Issuer: idt.Issuer, Subject: idt.Subject, SID: c.str("sid"), Rooms: who.rooms}, addr)
	if rf != nil {
		l.cfg.Refuse(w, r, rf)
		return
	}
	hostlogin.SetCookie(w, token, exp)
	// The login page finishes as a password login does: the tab keeps the
	// token only where the browser would not take the cookie. The token
	// travels in the fragment, which no server, log or Referer sees.
	hostlogin.SeeOther(w, "/login?"+url.Values{"next": {b.next}}.Encode()+"#peer_token="+url.QueryEscape(token))
}

// useOnce marks the login used, on every gateway of the site: a callback
// replayed (the same URL again, with the browser's cookie copied) is
// refused even on another gateway. The shared store's single-use tokens do
// that already (an invitation with one use), so a state is one.
func (l *Login) useOnce(ctx context.Context, b binding) *httperror.Refusal {
	ctx, cancel := l.cfg.Bound(ctx)
	defer cancel()
	_, err := l.cfg.Store.TokenJoin(ctx, cluster.TokenJoin{ID: "oidc-login|" + b.state(), Expires: b.started.Add(loginWindow), MaxUses: 1})
	switch {
	case errors.Is(err, cluster.ErrUsedUp):
		return errUsed
	case err != nil:
		return httperror.Shared(err)
	}
	return nil
}

// refuse tells the audit log and the person; reason (for the operator's
// log) never holds a code, a token or the secret.
func (l *Login) refuse(w http.ResponseWriter, r *http.Request, rf *httperror.Refusal, user, reason string) {
	addr := l.cfg.ClientIP(r)
	l.cfg.Tell.LoginOutcome(rf.Code)
	l.cfg.Tell.LoginFailed(addr, user, rf.Code)
	l.cfg.Log.Info("login through the identity provider refused", zap.String("rule", rf.Code), zap.String("reason", reason))
	l.cfg.Refuse(w, r, rf)
}

func sameString(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
