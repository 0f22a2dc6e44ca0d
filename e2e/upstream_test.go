package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/roomgate/roomgate/accesstoken"
)

// echoUpstream stands where the media server will: a WebSocket server that
// verifies the gateway's admission, greets with what it was told, echoes
// messages, and remembers every request that reached it.
type echoUpstream struct {
	srv *httptest.Server
	adm atomic.Pointer[accesstoken.Admissions]

	mu    sync.Mutex
	seen  []http.Header
	paths []string // the escaped path of each request, beside seen
}

// hello is the upstream's first message: what the admission said.
type hello struct {
	Room string `json:"room"`
	Role string `json:"role"`
	Name string `json:"name"`
	Peer string `json:"peer"`
}

func newEchoUpstream(t testing.TB, secret string) *echoUpstream {
	u := &echoUpstream{}
	u.setSecret([]byte(secret))
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

// setSecret changes the secret admissions are verified with.
func (u *echoUpstream) setSecret(s []byte) {
	u.adm.Store(accesstoken.NewAdmissions(accesstoken.Secret(s), nil))
}

func (u *echoUpstream) addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

func (u *echoUpstream) requests() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

// lastPath is the escaped path of the last request that reached it.
func (u *echoUpstream) lastPath() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.paths) == 0 {
		return ""
	}
	return u.paths[len(u.paths)-1]
}

func (u *echoUpstream) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.seen = append(u.seen, r.Header.Clone())
	u.paths = append(u.paths, r.URL.EscapedPath())
	u.mu.Unlock()
	vals := r.Header.Values(accesstoken.AdmissionHeader)
	if len(vals) != 1 {
		http.Error(w, "want exactly one admission", http.StatusForbidden)
		return
	}
	a, err := u.adm.Load().Verify(vals[0])
	if err != nil || a.Room != r.URL.Query().Get("room") {
		http.Error(w, "bad admission", http.StatusForbidden)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"roomgate"}, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	if err := wsjson.Write(ctx, c, hello{Room: a.Room, Role: string(a.Role), Name: a.Name, Peer: a.Subject}); err != nil {
		return
	}
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}
