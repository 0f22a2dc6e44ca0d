package oidc

import (
	"net/http"
	"net/url"
)

// RP-Initiated Logout 1.0: when a host who logged in through the provider
// logs out of roomgate, the page sends the browser on to the provider's
// end_session_endpoint, where the provider ends its own session and sends
// the browser back to this site's /login (the post_logout_redirect_uri the
// operator registers). roomgate names itself by client_id and keeps no ID
// token for an id_token_hint: no token is stored with the session, nor put
// in a URL. Some providers then ask the person to confirm (Keycloak).

// EndSessionURL is where the browser of a host who logged in through the
// provider goes after roomgate's logout; "" when the provider announces
// no end_session_endpoint (or is not discovered).
func (l *Login) EndSessionURL(r *http.Request) string {
	p := l.provider.Load()
	if p == nil || p.endSession == "" {
		return ""
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", l.cfg.ClientID)
	q.Set("post_logout_redirect_uri", siteURL(r)+"/login")
	u.RawQuery = q.Encode()
	return u.String()
}

// hasQuery reports whether a URL parses with a query; an endpoint with
// one is not an issuer, yet a fine end_session_endpoint if https.
func hasQuery(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.RawQuery == "" {
		return false
	}
	u.RawQuery = ""
	return CheckIssuer(u.String()) == nil
}
