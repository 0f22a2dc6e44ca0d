package restapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/roomgate/roomgate/gateway"
	"github.com/roomgate/roomgate/gateway/httperror"
)

// API is the REST API of one configured gateway.
type API struct {
	g *gateway.Gateway
}

// New makes the API of g; mount its Serve with g.MountAPI.
func New(g *gateway.Gateway) *API { return &API{g: g} }

// Serve is the REST API under /api/v1/; path is what follows that prefix,
// in the case the client wrote it. Without an api_key it does not exist.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, path string) {
	if a.g.Config().APIKey == "" {
		httperror.Refuse(http.StatusNotFound, "not_found", "there is no API here").Write(w)
		return
	}
	if !a.apiKeyOK(r) {
		httperror.Refuse(http.StatusUnauthorized, "invalid_api_key", "send the API key as Authorization: Bearer <key>").Write(w)
		return
	}
	var calls map[string]http.HandlerFunc
	switch {
	case path == "token":
		calls = map[string]http.HandlerFunc{http.MethodPost: a.serveMintToken}
	case path == "token/validate":
		calls = map[string]http.HandlerFunc{http.MethodPost: a.serveValidateToken}
	case path == "token/revoke":
		calls = map[string]http.HandlerFunc{http.MethodPost: a.serveRevokeToken}
	case path == "meeting":
		calls = map[string]http.HandlerFunc{http.MethodPost: a.serveMiroTalkMeeting}
	case path == "join":
		calls = map[string]http.HandlerFunc{http.MethodPost: a.serveMiroTalkJoin}
	case path == "room":
		calls = map[string]http.HandlerFunc{http.MethodPost: a.serveCreateRoom}
	case path == "rooms":
		calls = map[string]http.HandlerFunc{http.MethodGet: a.serveListRooms}
	case path == "explain":
		calls = map[string]http.HandlerFunc{http.MethodPost: a.serveExplain}
	case path == "bans":
		calls = map[string]http.HandlerFunc{http.MethodGet: a.serveBans, http.MethodPost: a.serveBans}
	case strings.HasPrefix(path, "bans/"):
		id := strings.TrimPrefix(path, "bans/")
		calls = map[string]http.HandlerFunc{http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { a.serveUnban(w, r, id) }}
	case strings.HasPrefix(path, "room/"):
		name, sub, _ := strings.Cut(strings.TrimPrefix(path, "room/"), "/")
		room := func(f func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { f(w, r, name) }
		}
		switch sub {
		case "":
			calls = map[string]http.HandlerFunc{http.MethodGet: room(a.serveGetRoom),
				http.MethodPatch: room(a.servePatchRoom), http.MethodDelete: room(a.serveDeleteRoom)}
		case "participants":
			calls = map[string]http.HandlerFunc{http.MethodGet: room(a.serveParticipants)}
		}
	}
	if calls == nil {
		httperror.Refuse(http.StatusNotFound, "not_found", "no such API call").Write(w)
		return
	}
	h := calls[r.Method]
	if h == nil {
		for m := range calls {
			w.Header().Add("Allow", m)
		}
		httperror.Refuse(http.StatusMethodNotAllowed, "method_not_allowed", "this call takes another method").Write(w)
		return
	}
	h(w, r)
}

// apiKeyOK takes the key as Bearer, as MiroTalk's bare authorization, or as
// Metered's secretKey query parameter, and compares in constant time.
func (a *API) apiKeyOK(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	if scheme, rest, ok := strings.Cut(got, " "); ok && strings.EqualFold(scheme, "Bearer") {
		got = strings.TrimSpace(rest)
	}
	if got == "" {
		got = r.URL.Query().Get("secretKey")
	}
	x, y := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(a.g.Config().APIKey))
	return got != "" && subtle.ConstantTimeCompare(x[:], y[:]) == 1
}
