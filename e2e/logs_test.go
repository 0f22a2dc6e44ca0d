package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/internal/caddyrun"
)

// TestNoSecretInAnyLogLine runs a whole day at the door with Caddy's debug
// logging on, the repository's access log block, and TURN, then looks for
// every credential in every log line.
func TestNoSecretInAnyLogLine(t *testing.T) {
	t.Parallel()
	tp := caddyrun.FreePort(t)
	// Secrets come from the environment as runtime placeholders, as the
	// repository's Caddyfile has them: {$VAR} would paste them into the
	// config, which Caddy's debug log prints whole.
	// Secrets come from the environment as runtime placeholders, as the
	// repository's Caddyfile has them: {$VAR} would paste them into the
	// config, which Caddy's debug log prints whole.
	s := newMediaSiteConfig(t, siteConfig{
		secret:    "{env.RG_SECRET}",
		env:       []string{"RG_SECRET=" + testSecret, "RG_API_KEY=" + apiKey},
		words:     fmt.Sprintf("api_key {env.RG_API_KEY}\n\t\tturn turn:127.0.0.1:%d?transport=udp", tp),
		globals:   "debug\n\t" + turnGlobals(tp, "secret {env.RG_SECRET}"),
		siteWords: repositoryLogBlock(t),
	})
	host, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	var secrets []string

	// Logins, good and bad, and a logout.
	host.login("alice", "not-"+password)
	hostTok := host.mustLogin("alice", password)
	secrets = append(secrets, password, "not-"+password, hostTok)

	// Tokens from the API, the MiroTalk join API and the command line.
	tok := host.mintToken(`{"roomName":"standup","name":"Gwen"}`)
	other := host.mintToken(`{"roomName":"retro"}`)
	join := host.api("/api/v1/join", `{"room":"standup","token":{"username":"alice","password":"`+password+`","presenter":true}}`, nil)
	cli, err := caddyrun.Run(t, "token", "--secret", testSecret, "--room", "standup")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok, other, strings.TrimSpace(cli), apiKey, testSecret)
	if join.status != http.StatusOK {
		t.Fatalf("MiroTalk join: %d %s", join.status, join.body)
	}

	// Join links that carry a token or credentials.
	for _, q := range []url.Values{
		{"room": {"standup"}, "token": {tok}},
		{"room": {"standup"}, "username": {"alice"}, "password": {password}},
	} {
		a := guest.do("GET", "/join?"+q.Encode(), "", nil, nil)
		_, frag, _ := strings.Cut(a.header.Get("Location"), "#peer_token=")
		if a.status != http.StatusSeeOther || frag == "" {
			t.Fatalf("join link: %d %q", a.status, a.header.Get("Location"))
		}
		secrets = append(secrets, frag)
	}

	// Signalling: in with a token (and a TURN credential in the welcome),
	// refused with another room's, and the host in and out.
	g := guest.mustJoin("standup", joinOpts{token: tok, relay: true})
	turnCred, _ := g.Welcome.ICEServers[0].Credential.(string)
	secrets = append(secrets, turnCred, accesstoken.TURNSharedSecret(accesstoken.Secret(testSecret)))
	guest.join("standup", joinOpts{token: other})
	h := host.mustJoin("standup", joinOpts{token: hostTok})
	publishAV(t, h)
	if !receive(g).hears(5, h.ID()) {
		t.Fatal("no media through TURN")
	}
	host.logout(hostTok)

	if !eventually(5*time.Second, func() bool { return strings.Count(s.Logs(), `"logger":"http.log.access`) >= 8 }) {
		t.Fatal("the access log did not record the requests")
	}
	logs := s.Logs()
	for _, secret := range secrets {
		// A JWT's signature alone would give it away; so would a password's
		// or secret's bytes anywhere, URL-escaped included.
		part := secret[strings.LastIndexByte(secret, '.')+1:]
		for _, form := range []string{part, url.QueryEscape(part)} {
			if i := strings.Index(logs, form); i >= 0 {
				line := logs[strings.LastIndexByte(logs[:i], '\n')+1:]
				if j := strings.IndexByte(line, '\n'); j >= 0 {
					line = line[:j]
				}
				t.Errorf("a log line holds a credential (%.12s…): %.300s", part, line)
			}
		}
	}
}
