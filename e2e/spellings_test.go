package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

// behind is a handler after the gateway that is not the media server (the
// site's last `reverse_proxy`, for every path no other route takes): it
// records what reaches it.
type behind struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string // method, escaped path and headers of each request
}

func newBehind(t *testing.T) *behind {
	b := &behind{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "%s %s\n", r.Method, r.URL.EscapedPath())
		r.Header.Write(&buf)
		b.mu.Lock()
		b.reqs = append(b.reqs, buf.String())
		b.mu.Unlock()
		io.WriteString(w, "behind the gateway")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *behind) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.reqs...)
}

// rawRequest writes an HTTP/1.1 request as given, spelling and all (Go's
// client would clean some of it), from ip, and reads the answer's status.
func rawRequest(t *testing.T, ip string, port int, method, target string, header http.Header, body string) (int, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: localhost:%d\r\n", method, target, port)
	header.Write(&req)
	if body != "" {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(body))
	}
	req.WriteString("\r\n" + body)
	if _, err := c.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp.StatusCode, ""
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(answer)
}

// TestEverySpellingOfTheDoorMeetsTheGateway is issue 21: the site's
// `reverse_proxy /ws` takes /WS, //ws, /./ws, /%77s…, so the gateway must
// decide on each of them; nothing a client made up (an admission, a host
// cookie, a token) reaches anything behind the gateway, whatever the path.
func TestEverySpellingOfTheDoorMeetsTheGateway(t *testing.T) {
	t.Parallel()
	back := newBehind(t)
	s := gatewaySiteWith(t, "host_protected", "", "reverse_proxy "+strings.TrimPrefix(back.srv.URL, "http://"))

	// The attacker's kit: a token signed with a key of their own, as a
	// subprotocol, as the host cookie and as an early arrival's pass, and
	// admissions in every spelling.
	key := make([]byte, 32)
	rand.Read(key)
	forgedTok, _, err := accesstoken.NewIssuer(accesstoken.Secret(key), nil).Mint(accesstoken.Claims{
		Role: accesstoken.RolePeer, Room: "standup", Admin: true,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	hostile := func(upgrade, connection string) http.Header {
		return http.Header{
			"Upgrade":                {upgrade},
			"Connection":             {connection},
			"Sec-Websocket-Key":      {"dGhlIHNhbXBsZSBub25jZQ=="},
			"Sec-Websocket-Version":  {"13"},
			"Sec-Websocket-Protocol": {"roomgate, roomgate.token." + forgedTok},
			"Cookie":                 {"__Host-roomgate_host=" + forgedTok + "; roomgate_early_standup=" + forgedTok},
			"Roomgate-Admission":     {"forged-admission"},
			"Roomgate_admission":     {"forged-admission"},
		}
	}
	ws := hostile("websocket", "Upgrade")

	type spelling struct {
		method, target string
		header         http.Header
		status         int // the gateway's answer
	}
	door := []spelling{}
	for _, p := range []string{"/ws", "/WS", "/Ws", "//ws", "///ws", "/./ws", "/x/../ws", "/../ws",
		"/%77s", "/%57S", "/%2fws", "/%2Fws", "/ws/.", "/ws/x/..", "/%2e/ws", "/.%2E/ws"} {
		door = append(door, spelling{"GET", p + "?room=standup&name=tester", ws, http.StatusUnauthorized})
	}
	door = append(door,
		spelling{"GET", "/ws?room=standup", hostile("WebSocket", "keep-alive, UPGRADE"), http.StatusUnauthorized},
		spelling{"GET", "/WS?room=standup", hostile("WEBSOCKET", "upgrade"), http.StatusUnauthorized},
		spelling{"HEAD", "/WS?room=standup", ws, http.StatusUnauthorized},
		spelling{"POST", "//ws?room=standup", ws, http.StatusBadRequest},
		spelling{"PUT", "/ws?room=standup", ws, http.StatusBadRequest},
	)
	// The gateway's other paths, spelled otherwise, are the gateway's too.
	plain := http.Header{"Cookie": {"__Host-roomgate_host=" + forgedTok}, "Roomgate-Admission": {"forged-admission"}}
	door = append(door,
		spelling{"GET", "/SESSION", plain, http.StatusUnauthorized},
		spelling{"GET", "//session", plain, http.StatusUnauthorized},
		spelling{"GET", "/session/.", plain, http.StatusUnauthorized},
		spelling{"PUT", "/session", plain, http.StatusMethodNotAllowed},
		spelling{"GET", "/LOGOUT", plain, http.StatusMethodNotAllowed},
		spelling{"DELETE", "/Login", plain, http.StatusMethodNotAllowed},
		spelling{"GET", "/API/v1/rooms", plain, http.StatusUnauthorized},
		spelling{"GET", "/./api/v1/rooms", plain, http.StatusUnauthorized},
		spelling{"GET", "/%61pi/v1/rooms", plain, http.StatusUnauthorized},
		spelling{"GET", "/api//v1/bans", plain, http.StatusUnauthorized},
		spelling{"GET", "/api/v1", plain, http.StatusUnauthorized},
		spelling{"POST", "/api/V1/explain", plain, http.StatusUnauthorized},
		spelling{"GET", "/JOIN/standup", plain, http.StatusOK},
		spelling{"POST", "/join/standup", plain, http.StatusMethodNotAllowed},
		spelling{"GET", "/x/../LOGIN", plain, http.StatusOK},
	)
	for _, tc := range door {
		body := ""
		if tc.method == "POST" || tc.method == "PUT" {
			body = "{}"
		}
		status, body := rawRequest(t, "127.0.0.2", s.port, tc.method, tc.target, tc.header, body)
		if status != tc.status {
			t.Errorf("%s %s: %d %s; want the gateway's %d", tc.method, tc.target, status, body, tc.status)
		}
	}
	if n := len(s.upstream.requests()); n != 0 {
		t.Fatalf("%d hostile requests reached the media server's place", n)
	}
	if seen := back.seen(); len(seen) != 0 {
		t.Fatalf("the gateway's own paths reached the handler behind it:\n%s", strings.Join(seen, "\n"))
	}

	// Spellings the signalling proxy does not take go on to whatever is
	// behind, without anything that stands for a roomgate credential.
	elsewhere := []string{"/ws/", "/ws;x", "/ws%3Bx", "/wsx", "/other", "/ws/x"}
	for _, p := range elsewhere {
		if status, body := rawRequest(t, "127.0.0.2", s.port, "GET", p+"?room=standup", ws, ""); status != http.StatusOK || body != "behind the gateway" {
			t.Errorf("GET %s: %d %s; want what is behind", p, status, body)
		}
	}
	seen := back.seen()
	if len(seen) != len(elsewhere) {
		t.Fatalf("behind saw %d requests; want %d", len(seen), len(elsewhere))
	}
	for _, r := range seen {
		for _, bad := range []string{forgedTok, "forged-admission", "roomgate_host", "roomgate.token"} {
			if strings.Contains(r, bad) {
				t.Errorf("behind the gateway saw %q in:\n%s", bad, r)
			}
		}
	}
	if n := len(s.upstream.requests()); n != 0 {
		t.Fatalf("%d requests for other paths reached the media server's place", n)
	}

	// Admitted through any spelling: the media server's place sees the one
	// path, the gateway's admission and nothing the client sent in its
	// name.
	host := s.person(t, "127.0.0.1")
	tok := host.mustLogin("alice", password)
	for i, p := range []string{"/WS", "//ws", "/x/../ws", "/%77s"} {
		h := hostile("websocket", "Upgrade")
		h.Set("Sec-Websocket-Protocol", "roomgate, roomgate.token."+tok)
		if status, body := rawRequest(t, "127.0.0.1", s.port, "GET", p+"?room=standup&name=alice", h, ""); status != http.StatusSwitchingProtocols {
			t.Fatalf("the host at %s: %d %s", p, status, body)
		}
		reqs := s.upstream.requests()
		if len(reqs) != i+1 {
			t.Fatalf("the media server's place saw %d requests; want %d", len(reqs), i+1)
		}
		got := reqs[i]
		adms := got.Values("Roomgate-Admission")
		if len(adms) != 1 || adms[0] == "forged-admission" || got.Get("Roomgate_admission") != "" {
			t.Fatalf("%s: admissions %q", p, got)
		}
		if got.Get("Cookie") != "" || got.Get("Sec-Websocket-Protocol") != "roomgate" || strings.Contains(fmt.Sprint(got), tok) {
			t.Fatalf("%s: credentials went on: %q", p, got)
		}
		if lp := s.upstream.lastPath(); lp != "/ws" {
			t.Fatalf("%s reached the media server's place as %q; want /ws", p, lp)
		}
	}
}
