package hostlogin

import (
	"net/http"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
)

// A host's login reaches every tab of the browser that logged in through a
// cookie holding the host token: HttpOnly (no script reads it), Secure,
// SameSite=Strict (no other site's page sends it), the __Host- prefix (only
// this host sets it, for the whole site). The gateway takes it at the
// signalling path only, as the credential of a request that brings no
// other, and strips it before anything goes upstream; host rights still
// need the token AND the address that logged in. docs/browser.md, "Logged
// in across tabs", says why a cookie and not the tab's storage.
const CookieName = "__Host-roomgate_host"

// BindingCookie binds a login through an identity provider to the
// browser that started it, for the few minutes the login takes (package
// oidc sets and reads it).
const BindingCookie = "__Host-roomgate_oidc"

// SetCookie hands the browser the host token until the session's end.
func SetCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires,
		MaxAge: max(1, int(time.Until(expires).Seconds())),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// ClearCookie tells the browser to forget the host token.
func ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// CookieToken is the token in the request's host cookie, or "".
func CookieToken(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) > accesstoken.MaxTokenLen {
		return ""
	}
	return c.Value
}

// DropCookie removes the host cookie and the login's binding cookie
// (BindingCookie), and only them, from the headers: nothing upstream of the
// gateway is handed a login.
func DropCookie(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var keep []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			if name, _, _ := strings.Cut(strings.TrimSpace(part), "="); name != CookieName && name != BindingCookie && strings.TrimSpace(part) != "" {
				keep = append(keep, strings.TrimSpace(part))
			}
		}
	}
	h.Del("Cookie")
	if len(keep) > 0 {
		h.Set("Cookie", strings.Join(keep, "; "))
	}
}
