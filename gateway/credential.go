package gateway

import (
	"net/http"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"golang.org/x/net/http/httpguts"
)

// The WebSocket subprotocol and the token's place in the list.
const (
	Subprotocol            = accesstoken.Subprotocol
	SubprotocolTokenPrefix = accesstoken.SubprotocolTokenPrefix
)

// signalCredential is what a signalling request brought.
type signalCredential struct {
	token        string
	rejoin       string // a rejoin pass, from a client coming back
	owner        string // an owner pass, from the start page of an open site
	subprotocols bool   // the client offered subprotocols, so it must get "roomgate"
	fromCookie   bool   // the token is the host cookie's: the request brought no other
	staleCookie  bool   // the host cookie held a token that no longer verifies
}

// credentialOf takes the token from the subprotocol list or, for clients that
// are not browsers, from Authorization: Bearer; with neither, from the host
// cookie of a browser that logged in.
func credentialOf(r *http.Request) (signalCredential, *refusal) {
	var c signalCredential
	offered := false
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == "":
			case p == Subprotocol:
				offered = true
			case strings.HasPrefix(p, accesstoken.SubprotocolRejoinPrefix):
				if c.rejoin != "" {
					return c, refuse(http.StatusBadRequest, "two_passes", "send one rejoin pass")
				}
				c.rejoin = p[len(accesstoken.SubprotocolRejoinPrefix):]
				if len(c.rejoin) > accesstoken.MaxTokenLen {
					return c, refuse(http.StatusRequestEntityTooLarge, "token_too_large", accesstoken.ErrTooLarge.Error())
				}
			case strings.HasPrefix(p, accesstoken.SubprotocolOwnerPrefix):
				if c.owner != "" {
					return c, refuse(http.StatusBadRequest, "two_passes", "send one owner pass")
				}
				c.owner = p[len(accesstoken.SubprotocolOwnerPrefix):]
				if len(c.owner) > accesstoken.MaxTokenLen {
					return c, refuse(http.StatusRequestEntityTooLarge, "token_too_large", accesstoken.ErrTooLarge.Error())
				}
			case strings.HasPrefix(p, SubprotocolTokenPrefix):
				if c.token != "" {
					return c, refuse(http.StatusBadRequest, "two_tokens", "send one token")
				}
				c.token = p[len(SubprotocolTokenPrefix):]
				if c.token == "" {
					return c, refuse(http.StatusUnauthorized, "invalid_token", accesstoken.ErrMalformed.Error())
				}
			}
			c.subprotocols = true
		}
	}
	if c.subprotocols && !offered {
		return c, refuse(http.StatusBadRequest, "subprotocol_required", `offer the "roomgate" subprotocol`)
	}
	b, rf := hostlogin.Bearer(r)
	if rf != nil {
		return c, rf
	}
	if b != "" {
		if c.token != "" {
			return c, refuse(http.StatusBadRequest, "two_tokens", "send one token")
		}
		c.token = b
	}
	if c.token == "" {
		c.token = hostlogin.CookieToken(r)
		c.fromCookie = c.token != ""
	}
	if len(c.token) > accesstoken.MaxTokenLen {
		return c, refuse(http.StatusRequestEntityTooLarge, "token_too_large", accesstoken.ErrTooLarge.Error())
	}
	return c, nil
}

// isWebSocketUpgrade accepts an HTTP/1.1 upgrade and an HTTP/2 or HTTP/3
// extended CONNECT, the same forms reverse_proxy carries.
func isWebSocketUpgrade(r *http.Request) (ok, connect bool) {
	if r.Method == http.MethodGet &&
		httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") &&
		httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
		return true, false
	}
	if r.Method == http.MethodConnect &&
		((r.ProtoMajor == 2 && r.Header.Get(":protocol") == "websocket") || (r.ProtoMajor == 3 && r.Proto == "websocket")) {
		return true, true
	}
	return false, false
}
