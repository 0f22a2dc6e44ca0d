package e2e

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

func TestClientSentAdmissionNeverReachesUpstream(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected", "")
	p := s.person(t, "127.0.0.2")
	// A captured admission, correctly signed, and one signed with another key.
	captured, err := accesstoken.NewAdmissions(accesstoken.Secret(testSecret), nil).Mint(accesstoken.Admission{
		Room: "standup", Role: accesstoken.PeerHost, RegisteredClaims: jwt.RegisteredClaims{Subject: "p0"}})
	if err != nil {
		t.Fatal(err)
	}
	forged := http.Header{
		"Roomgate-Admission": {captured},
		"roomgate-admission": {"forged-lowercase"},
	}
	// Without a host in the room the guest is refused, forged admission or not.
	p.refusedSignal("standup", signalOpts{header: forged}, http.StatusForbidden)
	if n := len(s.upstream.requests()); n != 0 {
		t.Fatalf("a refused request reached the upstream (%d)", n)
	}

	host := s.person(t, "127.0.0.1")
	tok := host.mustLogin("alice", password)
	host.mustSignal("standup", signalOpts{token: tok})
	g := p.mustSignal("standup", signalOpts{header: forged, token: mintPeer(t, accesstoken.Claims{Room: "standup"})})
	if g.hello.Role != "guest" {
		t.Fatalf("guest with a forged host admission admitted as %q", g.hello.Role)
	}
	reqs := s.upstream.requests()
	last := reqs[len(reqs)-1]
	adms := last.Values("Roomgate-Admission")
	if len(adms) != 1 || adms[0] == captured {
		t.Fatalf("upstream saw admissions %q", adms)
	}
	if last.Get("Authorization") != "" || last.Get("Sec-Websocket-Protocol") != "roomgate" {
		t.Fatalf("credentials reached the upstream: Authorization %q, subprotocols %q",
			last.Get("Authorization"), last.Get("Sec-Websocket-Protocol"))
	}
	for _, h := range reqs {
		for k, vs := range h {
			for _, v := range vs {
				if strings.Contains(v, tok) || strings.Contains(v, "forged") {
					t.Fatalf("upstream saw %s: %s", k, v)
				}
			}
		}
	}
}

func TestWrongOriginIsRefused(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "", "")
	p := s.person(t, "127.0.0.2")
	for _, origin := range []string{"http://evil.example", "null", "http://localhost:1", "https://localhost", "file://"} {
		if a := p.refusedSignal("standup", signalOpts{origin: origin}, http.StatusForbidden); a.errorCode() != "bad_origin" {
			t.Fatalf("origin %q: %s", origin, a.body)
		}
	}
	if n := len(s.upstream.requests()); n != 0 {
		t.Fatalf("%d cross-origin requests reached the upstream", n)
	}
	p.mustSignal("standup", signalOpts{})            // the site's own origin
	p.mustSignal("standup", signalOpts{origin: "-"}) // no Origin: not a browser
}

func TestSignallingRefusesBadRequests(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "", "")
	p := s.person(t, "127.0.0.2")
	if a := p.do("POST", "/ws?room=standup", "", nil, nil); a.status != http.StatusBadRequest || a.errorCode() != "websocket_required" {
		t.Fatalf("POST: %d %s", a.status, a.body)
	}
	for _, room := range []string{"", "a b", "../etc", strings.Repeat("r", 65), "ünïcode"} {
		if a := p.refusedSignal(room, signalOpts{}, http.StatusBadRequest); a.errorCode() != "bad_room" {
			t.Fatalf("room %q: %s", room, a.body)
		}
	}
	for _, name := range []string{strings.Repeat("n", 65), "a\x07b"} {
		p.refusedSignal("standup", signalOpts{name: name}, http.StatusBadRequest)
	}
	if len(s.upstream.requests()) != 0 {
		t.Fatal("a bad request reached the upstream")
	}
}

func TestTokensNeverReachTheAccessLog(t *testing.T) {
	t.Parallel()
	// Caddy logs a copy of the request taken before any handler runs, so the
	// filter of the repository's Caddyfile is what keeps tokens out.
	s := gatewaySiteWith(t, "user_auth", "", repositoryLogBlock(t))
	p := s.person(t, "127.0.0.2")
	good := mintPeer(t, accesstoken.Claims{Room: "standup"})
	other := mintPeer(t, accesstoken.Claims{Room: "retro"})
	pass, _, err := accesstoken.NewAdmissions(accesstoken.Secret(testSecret), nil).MintRejoin("standup", "")
	if err != nil {
		t.Fatal(err)
	}
	owner, _, err := accesstoken.NewAdmissions(accesstoken.Secret(testSecret), nil).MintOwnerPass("standup")
	if err != nil {
		t.Fatal(err)
	}
	// An upgrade's access log line is written when the connection ends.
	p.mustSignal("standup", signalOpts{token: good, rejoin: pass, owner: owner}).conn.CloseNow()
	p.refusedSignal("standup", signalOpts{token: other}, http.StatusUnauthorized)
	p.refusedSignal("standup", signalOpts{bearer: other, origin: "-"}, http.StatusUnauthorized)
	host := s.person(t, "127.0.0.1")
	tok := host.mustLogin("alice", password)
	host.mustSignal("standup", signalOpts{token: tok})
	// A second tab brings the host cookie (the login's answer set it).
	host.mustSignal("standup", signalOpts{header: http.Header{"Cookie": {"__Host-roomgate_host=" + tok}}}).conn.CloseNow()
	host.logout(tok)
	if !eventually(5*time.Second, func() bool {
		return strings.Count(s.Logs(), `"logger":"http.log.access`) >= 6 && strings.Contains(s.Logs(), "roomgate.rejoin.")
	}) {
		t.Fatalf("the access log did not record the requests")
	}
	logs := s.Logs()
	if !strings.Contains(logs, "roomgate.rejoin.REDACTED") || !strings.Contains(logs, "roomgate.owner.REDACTED") {
		t.Fatal("the access log shows no filtered rejoin or owner pass: were they logged at all?")
	}
	for _, secret := range []string{good, other, tok, pass, owner, password, testSecret} {
		// A JWT's signature part alone would give it away too.
		if strings.Contains(logs, secret[strings.LastIndexByte(secret, '.')+1:]) {
			t.Fatalf("the logs hold a token or secret")
		}
	}
}

// repositoryLogBlock is the log block of the repository's Caddyfile.
func repositoryLogBlock(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\tlog {")
	j := strings.Index(s[i:], "\n\t}\n")
	if i < 0 || j < 0 {
		t.Fatal("the repository's Caddyfile has no log block")
	}
	return s[i : i+j+3]
}
