package oidc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roomgate/roomgate/gateway/hostlogin"
)

// A login is bound to the browser that started it by a short-lived cookie
// holding a random value; the state, the nonce and the PKCE verifier are
// hashes of it. Only that browser can finish the login (an attacker who
// makes a victim's browser land on a callback of the attacker's own login
// fails the state check), and the verifier, which the provider sees only
// at the token exchange, cannot be worked out from the state or the nonce
// (both travel in URLs and tokens). Nothing is kept on any one gateway, so
// the callback may land on any gateway of the site; the shared store only
// remembers that a state was used.
//
// The cookie is SameSite=Lax, not Strict like the host cookie: the
// callback is a navigation from the provider's site, which a browser sends
// Lax cookies with and Strict ones not. It is MACed with a key derived from
// the master secret, so that its start time and where to go next are the
// gateway's own.
const bindingCookie = hostlogin.BindingCookie

// loginWindow is how long a person has, from the button to the callback.
const loginWindow = 10 * time.Minute

// maxNextLen bounds where a login goes on to.
const maxNextLen = 512

// binding is one login's tie to its browser.
type binding struct {
	secret  []byte
	started time.Time
	next    string // a path on this site
}

func newBinding(now time.Time, next string) binding {
	b := binding{secret: make([]byte, 32), started: now.Truncate(time.Second), next: next}
	rand.Read(b.secret)
	return b
}

// derive is one of the login's public values: a hash of its secret.
func (b binding) derive(purpose string) string {
	h := sha256.New()
	h.Write([]byte("roomgate/v1/oidc/" + purpose + "\x00"))
	h.Write(b.secret)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func (b binding) state() string    { return b.derive("state") }
func (b binding) nonce() string    { return b.derive("nonce") }
func (b binding) verifier() string { return b.derive("pkce") } // 43 characters, as RFC 7636 asks

// encode is the cookie's value: secret, start, next, and their MAC.
func (b binding) encode(key []byte) string {
	body := base64.RawURLEncoding.EncodeToString(b.secret) + "." + strconv.FormatInt(b.started.Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(b.next))
	return body + "." + mac(key, body)
}

func mac(key []byte, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readBinding is the login this browser started, if its cookie is whole,
// the gateway's own, and not older than loginWindow.
func readBinding(r *http.Request, key []byte, now time.Time) (binding, bool) {
	c, err := r.Cookie(bindingCookie)
	if err != nil || len(c.Value) > 1024 {
		return binding{}, false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 {
		return binding{}, false
	}
	body := strings.Join(parts[:3], ".")
	if !hmac.Equal([]byte(parts[3]), []byte(mac(key, body))) {
		return binding{}, false
	}
	secret, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	started, err2 := strconv.ParseInt(parts[1], 10, 64)
	next, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(secret) != 32 {
		return binding{}, false
	}
	b := binding{secret: secret, started: time.Unix(started, 0), next: string(next)}
	if now.Sub(b.started) > loginWindow || b.started.After(now.Add(time.Minute)) {
		return binding{}, false
	}
	return b, true
}

func setBindingCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name: bindingCookie, Value: value, Path: "/", MaxAge: int(loginWindow.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func clearBindingCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: bindingCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// safeNext keeps where the person was going if it is a path on this site,
// never another origin (//host, /\host).
func safeNext(next string) string {
	if next == "" || len(next) > maxNextLen || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\t") {
		return "/"
	}
	return next
}
