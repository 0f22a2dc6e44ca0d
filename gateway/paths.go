package gateway

import (
	"net/http"
	"path"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/hostlogin/oidc"
)

// The gateway decides on a path in the form Caddy's path matcher compares
// it in (lower case, dot segments resolved, doubled slashes merged, a
// trailing slash kept), not as the client spelled it: otherwise /WS, //ws
// or /x/../ws would pass the gateway as "not its path" and still match the
// site's `reverse_proxy /ws`, reaching the media server without a decision.

// cleanPath resolves dot segments and merges doubled slashes, keeping a
// trailing slash, as Caddy's caddyhttp.CleanPath(p, true) does.
func cleanPath(p string) string {
	c := path.Clean(p)
	if c != "/" && strings.HasSuffix(p, "/") {
		c += "/"
	}
	return c
}

// matchForm is p as Caddy's path matcher sees it, so that the gateway's
// paths are the spellings a `reverse_proxy` with the same path takes.
func matchForm(p string) string { return cleanPath(strings.ToLower(p)) }

// pagePath reports whether the gateway answers p (in match form) itself,
// besides the signalling path, and never hands it on: the pages, the
// login, the session, the API.
func pagePath(p string) bool {
	switch p {
	case "/", "/login", "/logout", "/session", "/join", "/api/v1", "/assets", "/owner-pass", "/invitation", oidc.StartPath, oidc.CallbackPath,
		oidc.BackchannelLogoutPath:
		return true
	}
	return strings.HasPrefix(p, "/join/") || strings.HasPrefix(p, "/assets/") || strings.HasPrefix(p, "/api/v1/")
}

// scrubPassing removes from a request the gateway hands on without a
// decision of its own (any path not the gateway's) everything that stands
// for a roomgate credential: an admission the client made up, the host
// cookie, an early arrival's pass, a peer token or rejoin pass in the
// subprotocol list, and a roomgate token as Authorization. Whatever the
// operator proxies there never receives a roomgate credential it could be
// fooled or robbed with.
func scrubPassing(h http.Header) {
	dropAdmissionHeaders(h)
	hostlogin.DropCookie(h)
	dropEarlyCookies(h)
	if vs := h.Values("Sec-WebSocket-Protocol"); len(vs) > 0 {
		var keep []string
		for _, v := range vs {
			for p := range strings.SplitSeq(v, ",") {
				p = strings.TrimSpace(p)
				if p == "" || strings.HasPrefix(p, SubprotocolTokenPrefix) || strings.HasPrefix(p, accesstoken.SubprotocolRejoinPrefix) ||
					strings.HasPrefix(p, accesstoken.SubprotocolOwnerPrefix) {
					continue
				}
				keep = append(keep, p)
			}
		}
		h.Del("Sec-WebSocket-Protocol")
		if len(keep) > 0 {
			h.Set("Sec-WebSocket-Protocol", strings.Join(keep, ", "))
		}
	}
	if scheme, tok, ok := strings.Cut(h.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") &&
		accesstoken.IsRoomgateToken(strings.TrimSpace(tok)) {
		h.Del("Authorization")
	}
}

// dropAdmissionHeaders removes every header that an upstream could read as
// the admission: any case, and with _ for - (CGI-style servers and some
// proxies fold the two into one name).
func dropAdmissionHeaders(h http.Header) {
	for k := range h {
		if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), accesstoken.AdmissionHeader) {
			delete(h, k)
		}
	}
}
