package hostlogin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/httperror"
)

// Bearer returns the token of an Authorization: Bearer header, or "".
func Bearer(r *http.Request) (string, *httperror.Refusal) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", httperror.Refuse(http.StatusUnauthorized, "invalid_token", "Authorization must be Bearer <token>")
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > accesstoken.MaxTokenLen {
		return "", httperror.Refuse(http.StatusRequestEntityTooLarge, "token_too_large", accesstoken.ErrTooLarge.Error())
	}
	return tok, nil
}

// SameOrigin reports whether a browser's Origin is this site. A request
// with no Origin is not from a browser page and passes this check.
func SameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.EqualFold(hostWithPort(u.Host, u.Scheme), hostWithPort(r.Host, u.Scheme))
}

func hostWithPort(host, scheme string) string {
	if strings.LastIndexByte(host, ':') > strings.LastIndexByte(host, ']') {
		return host
	}
	if scheme == "https" {
		return host + ":443"
	}
	return host + ":80"
}

// SeeOther answers 303 See Other with no body, so the location (which may
// hold a token in its fragment) is written nowhere but the Location header.
func SeeOther(w http.ResponseWriter, location string) {
	h := w.Header()
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusSeeOther)
}
