package gateway

import (
	"net/http"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"go.uber.org/zap"
)

// People who come to a host_protected room before its host wait, and are
// not let in wholesale when the host arrives: the host sees them in the
// lobby and admits them (an API room with admitEarlyArrivals lets them in
// at once). The mark is the browser's, not the address's: people behind
// one office address who come after the host go straight in. The check
// that answers host_absent hands the browser a signed pass for that room
// (accesstoken.Early, renewed at each check while it waits) in a cookie;
// a request that brings it is an early arrival's. A pass grants nothing
// (its holder goes to the lobby), so a browser that drops it is only
// someone who came after the host; signed and bound to the room, nobody
// makes one for somebody else.
const earlyCookiePrefix = "roomgate_early_"

func earlyCookieName(room string) string { return earlyCookiePrefix + room }

// cameEarly reports whether the request brings this browser's early pass
// for room.
func (g *Gateway) cameEarly(r *http.Request, room string) bool {
	c, err := r.Cookie(earlyCookieName(room))
	if err != nil || len(c.Value) > accesstoken.MaxTokenLen {
		return false
	}
	p, err := g.admissions.VerifyEarly(c.Value)
	return err == nil && p.Room == room
}

// markEarly hands the browser its early pass for room: HttpOnly (no script
// reads it) and SameSite=Strict (no other site's page sends it). Not
// Secure: it is no credential, and it must work where a Secure cookie
// would be refused (plain HTTP).
func (g *Gateway) markEarly(w http.ResponseWriter, room string) {
	pass, err := g.admissions.MintEarly(room)
	if err != nil {
		g.log.Warn("minting an early arrival's pass", zap.Error(err))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: earlyCookieName(room), Value: pass, Path: "/",
		MaxAge: int(accesstoken.EarlyTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// dropEarlyCookies removes early passes from the headers: the upstream
// gets nothing the browser holds.
func dropEarlyCookies(h http.Header) {
	var keep []string
	for _, line := range h.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if part != "" && !strings.HasPrefix(part, earlyCookiePrefix) {
				keep = append(keep, part)
			}
		}
	}
	h.Del("Cookie")
	if len(keep) > 0 {
		h.Set("Cookie", strings.Join(keep, "; "))
	}
}
