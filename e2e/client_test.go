package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway"
)

// person is someone at one loopback address talking to one roomgate site.
type person struct {
	t    testing.TB
	ip   string
	base string // http://localhost:port
	port int
	http *http.Client
}

func newPerson(t testing.TB, ip string, port int) *person {
	return &person{t: t, ip: ip, port: port, base: fmt.Sprintf("http://localhost:%d", port), http: &http.Client{
		Transport: transportFrom(ip, port),
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// transportFrom dials the site from the given source address, whatever host
// the URL names, so that "localhost" stays the site's name.
func transportFrom(ip string, port int) *http.Transport {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		},
	}
}

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errorCode() string {
	var e apiError
	json.Unmarshal(a.body, &e)
	return e.Error
}

func (p *person) do(method, path, contentType string, body io.Reader, header http.Header) answer {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.http.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

// login posts credentials as JSON and returns the answer and the token, if any.
func (p *person) login(user, password string) (answer, string) {
	p.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	a := p.do("POST", "/login", "application/json", strings.NewReader(string(b)), nil)
	var ok struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if a.status == http.StatusOK {
		if err := json.Unmarshal(a.body, &ok); err != nil || ok.Token == "" || ok.ExpiresAt.IsZero() {
			p.t.Fatalf("login answer %s", a.body)
		}
	}
	return a, ok.Token
}

func (p *person) mustLogin(user, password string) string {
	p.t.Helper()
	a, tok := p.login(user, password)
	if a.status != http.StatusOK {
		p.t.Fatalf("login %s: %d %s", user, a.status, a.body)
	}
	return tok
}

func (p *person) logout(token string) int {
	p.t.Helper()
	return p.do("POST", "/logout", "", nil, http.Header{"Authorization": {"Bearer " + token}}).status
}

// signalOpts shape one signalling request.
type signalOpts struct {
	token  string      // sent in the subprotocol list, as a browser does
	bearer string      // sent as Authorization: Bearer
	origin string      // "" : the site's own origin; "-": none
	header http.Header // anything else
	name   string
	rejoin string // a rejoin pass, offered as a subprotocol
	owner  string // an owner pass, offered as a subprotocol
}

// signalling is an open signalling WebSocket and the upstream's greeting.
type signalling struct {
	conn  *websocket.Conn
	hello hello
}

// signal opens the signalling WebSocket for room. On refusal it returns nil
// and the gateway's answer.
func (p *person) signal(room string, o signalOpts) (*signalling, answer) {
	p.t.Helper()
	h := http.Header{}
	for k, v := range o.header {
		h[k] = v
	}
	switch o.origin {
	case "":
		h.Set("Origin", p.base)
	case "-":
	default:
		h.Set("Origin", o.origin)
	}
	if o.bearer != "" {
		h.Set("Authorization", "Bearer "+o.bearer)
	}
	protos := []string{"roomgate"}
	if o.token != "" {
		protos = append(protos, gateway.SubprotocolTokenPrefix+o.token)
	}
	if o.rejoin != "" {
		protos = append(protos, accesstoken.SubprotocolRejoinPrefix+o.rejoin)
	}
	if o.owner != "" {
		protos = append(protos, accesstoken.SubprotocolOwnerPrefix+o.owner)
	}
	q := url.Values{"room": {room}}
	if o.name != "" {
		q.Set("name", o.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, strings.Replace(p.base, "http", "ws", 1)+"/ws?"+q.Encode(), &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: transportFrom(p.ip, p.port)},
		HTTPHeader:   h,
		Subprotocols: protos,
	})
	if err != nil {
		if resp == nil {
			p.t.Fatalf("signal %s: %v", room, err)
		}
		var b []byte
		if resp.Body != nil {
			b, _ = io.ReadAll(resp.Body)
		}
		return nil, answer{resp.StatusCode, resp.Header, b}
	}
	s := &signalling{conn: c}
	p.t.Cleanup(func() { c.CloseNow() })
	if c.Subprotocol() != "roomgate" {
		p.t.Fatalf("subprotocol %q", c.Subprotocol())
	}
	if err := wsjson.Read(ctx, c, &s.hello); err != nil {
		p.t.Fatalf("reading the upstream's hello: %v", err)
	}
	return s, answer{status: http.StatusSwitchingProtocols}
}

// mustSignal opens the signalling WebSocket and fails the test on refusal.
func (p *person) mustSignal(room string, o signalOpts) *signalling {
	p.t.Helper()
	s, a := p.signal(room, o)
	if s == nil {
		p.t.Fatalf("%s refused from %s: %d %s", room, p.ip, a.status, a.body)
	}
	return s
}

// refusedSignal opens the signalling WebSocket expecting a refusal with status.
func (p *person) refusedSignal(room string, o signalOpts, status int) answer {
	p.t.Helper()
	s, a := p.signal(room, o)
	if s != nil {
		p.t.Fatalf("%s from %s admitted as %q; want refusal %d", room, p.ip, s.hello.Role, status)
	}
	if a.status != status {
		p.t.Fatalf("%s from %s: %d %s; want %d", room, p.ip, a.status, a.body, status)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || a.errorCode() == "" {
		p.t.Fatalf("refusal is not a JSON error: %q %s", ct, a.body)
	}
	p.explainAgrees(room, o, a)
	return a
}

// explainAgrees puts the same request to POST /api/v1/explain, when the
// site has the API, and checks that it names the same refusal: explain and
// the real door run the same rules.
func (p *person) explainAgrees(room string, o signalOpts, real answer) {
	p.t.Helper()
	switch real.errorCode() {
	case "two_tokens", "subprotocol_required", "two_passes", "token_too_large":
		return // the form of the upgrade itself; explain takes one token
	}
	if o.header.Get("Cookie") != "" {
		return // explain takes the token itself, not a browser's cookie
	}
	body := map[string]string{"room": room, "name": o.name, "address": p.ip, "token": o.token + o.bearer}
	switch o.origin {
	case "":
		body["origin"] = p.base
	case "-":
	default:
		body["origin"] = o.origin
	}
	b, _ := json.Marshal(body)
	a := p.api("/api/v1/explain", string(b), nil)
	if a.status == http.StatusNotFound {
		return // this site has no API
	}
	var ex struct {
		Decision  string
		DecidedBy *struct{ Rule, Code string }
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &ex) != nil {
		p.t.Fatalf("explain: %d %s", a.status, a.body)
	}
	if ex.Decision != "refuse" || ex.DecidedBy == nil || ex.DecidedBy.Code != real.errorCode() {
		p.t.Fatalf("the door refused with %s; explain says %s", real.errorCode(), a.body)
	}
}

// closedWithin reports whether the server closes the WebSocket within d.
func (s *signalling) closedWithin(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		if _, _, err := s.conn.Read(ctx); err != nil {
			return ctx.Err() == nil
		}
	}
}

// cutWith reports whether the gateway cuts the WebSocket within d with a
// close frame saying why (docs/signalling.md, "Cut by the gateway").
func (s *signalling) cutWith(d time.Duration, code websocket.StatusCode, reason string) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		if _, _, err := s.conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("still open after %v", d)
			}
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
				return fmt.Errorf("closed with %v; want %d %q", err, code, reason)
			}
			return nil
		}
	}
}

// echoes reports whether the connection still carries messages both ways.
func (s *signalling) echoes() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		return false
	}
	_, b, err := s.conn.Read(ctx)
	return err == nil && string(b) == "ping"
}

// eventually polls cond until it holds or d passes. It is for conditions in
// another process that announces nothing.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}
