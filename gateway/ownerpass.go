package gateway

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
)

// Owner passes: on an open site (neither host_protected nor user_auth) the
// start page asks for one for the room it starts, and the page offers it
// when it connects (docs/gateway.md, "Owners of open rooms").

// serveOwnerPass is POST /owner-pass {"room"}: 200 {"pass", "expiresAt"}.
// Anyone may ask, as anyone may start a room on an open site; the pass
// only keeps a room from someone who raced in after it was issued.
func (g *Gateway) serveOwnerPass(w http.ResponseWriter, r *http.Request) {
	if g.cfg.HostProtected || g.cfg.UserAuth {
		refuse(http.StatusNotFound, "no_owners", "rooms here are run by hosts, not by whoever starts them").Write(w)
		return
	}
	room, rf := readRoomBody(w, r)
	if rf != nil {
		rf.Write(w)
		return
	}
	pass, p, err := g.admissions.MintOwnerPass(room)
	if err != nil {
		refuse(http.StatusInternalServerError, "internal", "the pass could not be made").Write(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		Pass      string    `json:"pass"`
		ExpiresAt time.Time `json:"expiresAt"`
	}{pass, p.ExpiresAt.UTC()})
}

// ownerPassIssued is when a valid owner pass for room was issued, in Unix
// milliseconds; 0 for none, a bad one or one for another room (which only
// count for nothing: the pass grants no entry).
func (g *Gateway) ownerPassIssued(pass, room string) int64 {
	if pass == "" {
		return 0
	}
	p, err := g.admissions.VerifyOwnerPass(pass)
	if err != nil || p.Room != room {
		return 0
	}
	return p.IssuedAt.UnixMilli()
}

// maxRoomBody bounds the body of the page's small POSTs ({"room": …}).
const maxRoomBody = 1 << 10

// readRoomBody reads {"room": "<name>"} from a page of this site.
func readRoomBody(w http.ResponseWriter, r *http.Request) (string, *refusal) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return "", refuse(http.StatusMethodNotAllowed, "method_not_allowed", "this path takes POST")
	}
	if !hostlogin.SameOrigin(r) {
		return "", refuse(http.StatusForbidden, "bad_origin", "the page is not from this site")
	}
	var b struct {
		Room string `json:"room"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRoomBody)).Decode(&b); err != nil {
		return "", refuse(http.StatusBadRequest, "bad_request", `send {"room": "<name>"} as JSON`)
	}
	if !accesstoken.ValidRoom(b.Room) {
		return "", refuse(http.StatusBadRequest, "bad_room", "room must be 1-64 of A-Z a-z 0-9 _ -")
	}
	return b.Room, nil
}
