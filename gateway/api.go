package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// serveAPI is the REST API under /api/v1/; path is what follows that
// prefix, in the case the client wrote it. Without an api_key it does not
// exist.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	if g.cfg.APIKey == "" {
		refuse(http.StatusNotFound, "not_found", "there is no API here").Write(w)
		return
	}
	if !g.apiKeyOK(r) {
		refuse(http.StatusUnauthorized, "invalid_api_key", "send the API key as Authorization: Bearer <key>").Write(w)
		return
	}
	var calls map[string]http.HandlerFunc
	switch {
	case path == "token":
		calls = map[string]http.HandlerFunc{http.MethodPost: g.serveMintToken}
	case path == "token/validate":
		calls = map[string]http.HandlerFunc{http.MethodPost: g.serveValidateToken}
	case path == "token/revoke":
		calls = map[string]http.HandlerFunc{http.MethodPost: g.serveRevokeToken}
	case path == "meeting":
		calls = map[string]http.HandlerFunc{http.MethodPost: g.serveMiroTalkMeeting}
	case path == "join":
		calls = map[string]http.HandlerFunc{http.MethodPost: g.serveMiroTalkJoin}
	case path == "room":
		calls = map[string]http.HandlerFunc{http.MethodPost: g.serveCreateRoom}
	case path == "rooms":
		calls = map[string]http.HandlerFunc{http.MethodGet: g.serveListRooms}
	case path == "explain":
		calls = map[string]http.HandlerFunc{http.MethodPost: g.serveExplain}
	case path == "bans":
		calls = map[string]http.HandlerFunc{http.MethodGet: g.serveBans, http.MethodPost: g.serveBans}
	case strings.HasPrefix(path, "bans/"):
		id := strings.TrimPrefix(path, "bans/")
		calls = map[string]http.HandlerFunc{http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { g.serveUnban(w, r, id) }}
	case strings.HasPrefix(path, "room/"):
		name, sub, _ := strings.Cut(strings.TrimPrefix(path, "room/"), "/")
		room := func(f func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { f(w, r, name) }
		}
		switch sub {
		case "":
			calls = map[string]http.HandlerFunc{http.MethodGet: room(g.serveGetRoom),
				http.MethodPatch: room(g.servePatchRoom), http.MethodDelete: room(g.serveDeleteRoom)}
		case "participants":
			calls = map[string]http.HandlerFunc{http.MethodGet: room(g.serveParticipants)}
		}
	}
	if calls == nil {
		refuse(http.StatusNotFound, "not_found", "no such API call").Write(w)
		return
	}
	h := calls[r.Method]
	if h == nil {
		for m := range calls {
			w.Header().Add("Allow", m)
		}
		refuse(http.StatusMethodNotAllowed, "method_not_allowed", "this call takes another method").Write(w)
		return
	}
	h(w, r)
}

// apiKeyOK takes the key as Bearer, as MiroTalk's bare authorization, or as
// Metered's secretKey query parameter, and compares in constant time.
func (g *Gateway) apiKeyOK(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	if scheme, rest, ok := strings.Cut(got, " "); ok && strings.EqualFold(scheme, "Bearer") {
		got = strings.TrimSpace(rest)
	}
	if got == "" {
		got = r.URL.Query().Get("secretKey")
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(g.cfg.APIKey))
	return got != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// readJSON decodes a body of at most 64 KiB into v, a pointer to a struct.
// Property names must be exactly v's (encoding/json would take
// "ROOMNAME" for "roomName"); unknown properties and trailing data are
// refused. An empty body is an empty object: every property left out.
func readJSON(w http.ResponseWriter, r *http.Request, v any) *refusal {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than 64 KiB")
		}
		return refuse(http.StatusBadRequest, "bad_body", "the body could not be read")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil || len(top) == 0 || top[0] != '{' {
		return refuse(http.StatusBadRequest, "bad_body", "the body is not the JSON this call takes: not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return refuse(http.StatusBadRequest, "bad_body", "the body has data after the JSON object")
	}
	if name := unknownProperty(top, reflect.TypeOf(v).Elem()); name != "" {
		return refuse(http.StatusBadRequest, "bad_body", "the body is not the JSON this call takes: unknown property "+strconv.Quote(name))
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refuse(http.StatusBadRequest, "bad_body", "the body is not the JSON this call takes: "+jsonProblem(err))
	}
	return nil
}

// unknownProperty returns the first property name in raw, at any depth
// where t is a struct, that is not exactly one of t's; "" when all are.
func unknownProperty(raw json.RawMessage, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return "" // not an object: the decoder says what is wrong
	}
	known := jsonFields(t)
	keys := slices.Sorted(maps.Keys(fields)) // the same answer every time
	for _, k := range keys {
		ft, ok := known[k]
		if !ok {
			return k
		}
		if name := unknownProperty(fields[k], ft); name != "" {
			return k + "." + name
		}
	}
	return ""
}

// jsonFields are the property names a struct type takes, from its tags,
// with each one's type.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := jsonFieldsCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	jsonFieldsCache.Store(t, m)
	return m
}

var jsonFieldsCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonProblem says what is wrong without repeating the input.
func jsonProblem(err error) string {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		return "wrong type for " + typ.Field
	case errors.As(err, &syn):
		return "not JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown property " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "not a JSON object"
}

// serveMintToken is POST /api/v1/token.
func (g *Gateway) serveMintToken(w http.ResponseWriter, r *http.Request) {
	var p TokenProperties
	if rf := readJSON(w, r, &p); rf != nil {
		rf.Write(w)
		return
	}
	c, err := p.Claims(g.state.clock.Now(), g.cfg.TokenTTL)
	if err != nil {
		refuse(http.StatusBadRequest, "bad_token_request", err.Error()).Write(w)
		return
	}
	token, minted, err := g.issuer.Mint(c)
	if err != nil {
		// Mint's errors name the rule broken, never a value.
		refuse(http.StatusBadRequest, "bad_token_request", strings.TrimPrefix(err.Error(), "token is not valid: ")).Write(w)
		return
	}
	g.audit(auditTokenMinted, zap.String("address", g.cfg.ClientIP(r).String()), zap.String("token_id", minted.ID),
		zap.String("room", minted.Room), zap.Bool("global", minted.Global), zap.Bool("admin", minted.Admin),
		zap.Int("max_uses", minted.MaxUses), zap.Time("expires", minted.ExpiresAt.Time))
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

type tokenBody struct {
	Token string `json:"token"`
}

// serveValidateToken is POST /api/v1/token/validate.
func (g *Gateway) serveValidateToken(w http.ResponseWriter, r *http.Request) {
	var b tokenBody
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	c, err := g.issuer.Verify(b.Token)
	if err != nil {
		tokenRefusal(err).Write(w)
		return
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	revoked, err := g.state.shared.Revoked(ctx, c.ID)
	if err != nil {
		g.state.sharedReset(err)
		sharedRefusal(err).Write(w)
		return
	}
	if revoked {
		refuse(http.StatusUnauthorized, "invalid_token", "this token was revoked").Write(w)
		return
	}
	if c.Role != accesstoken.RolePeer {
		refuse(http.StatusUnauthorized, "invalid_token", "this is a host login, not a peer token").Write(w)
		return
	}
	answer := struct {
		TokenProperties
		// UsesLeft, for an invitation with maxUses, is how many joins it
		// still opens.
		UsesLeft *int `json:"usesLeft,omitempty"`
	}{TokenProperties: propertiesOf(c)}
	if c.MaxUses > 0 {
		used, err := g.state.shared.TokenUses(ctx, c.ID)
		if err != nil {
			sharedRefusal(err).Write(w)
			return
		}
		left := max(0, c.MaxUses-used)
		answer.UsesLeft = &left
	}
	writeJSON(w, http.StatusOK, answer)
}

// serveRevokeToken is POST /api/v1/token/revoke: the token stops working
// everywhere, live connections that came in with it included.
func (g *Gateway) serveRevokeToken(w http.ResponseWriter, r *http.Request) {
	var b tokenBody
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	c, err := g.issuer.Verify(b.Token)
	switch {
	case errors.Is(err, accesstoken.ErrExpired):
		w.WriteHeader(http.StatusNoContent) // it works nowhere already
		return
	case err != nil:
		tokenRefusal(err).Write(w)
		return
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	if c.Role == accesstoken.RoleHost {
		if err := g.state.endSession(ctx, c.ID, "its token was revoked"); err != nil {
			sharedRefusal(err).Write(w)
			return
		}
	}
	// The store tells every gateway, this one included, which cuts the
	// connections that came in with the token.
	if err := g.state.shared.Revoke(ctx, c.ID, c.ExpiresAt.Time); err != nil {
		if errors.Is(err, cluster.ErrFull) {
			// Never dropped quietly: the caller learns the token still works.
			g.log.Error("the revocation list is full: a token could not be revoked", zap.Int("bound", cluster.MaxRevoked))
			refuse(http.StatusServiceUnavailable, "revocations_full",
				"the token was NOT revoked: the revocation list holds its limit of live entries; they leave it as their tokens expire").Write(w)
			return
		}
		g.log.Warn("revoking a token", zap.Error(err))
		sharedRefusal(err).Write(w)
		return
	}
	g.audit(auditTokenRevoked, zap.String("address", g.cfg.ClientIP(r).String()), zap.String("token_id", c.ID))
	g.notify("token.revoked", c.Room, map[string]any{"tokenId": c.ID})
	if g.cfg.Store != nil {
		if err := g.cfg.Store.Store(r.Context(), revokedKey, g.state.revokedSnapshot()); err != nil {
			g.log.Error("keeping the revocation list", zap.Error(err))
			refuse(http.StatusInternalServerError, "internal", "the token is revoked, but this gateway could not keep a copy for a restart").Write(w)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// maxBodyBytes bounds an API call's body.
const maxBodyBytes = 64 << 10
