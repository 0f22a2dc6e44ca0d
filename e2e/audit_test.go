package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// The audit log is a logger of its own that a Caddyfile routes to a file:
// every decision at the door, every change through the API and every admin
// action, with tokens named by id only.
func TestAuditLogRecordsDecisionsAndChangesWithoutSecrets(t *testing.T) {
	t.Parallel()
	auditFile := filepath.Join(t.TempDir(), "audit.log")
	s := newMediaSiteConfig(t, siteConfig{
		words:   "api_key " + apiKey,
		globals: fmt.Sprintf("log audit {\n\t\tinclude roomgate.audit\n\t\toutput file %s\n\t\tformat json\n\t}", auditFile),
	})
	hostP := s.person(t, "127.0.0.1")
	if a, _ := hostP.login("alice", "not it"); a.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", a.status)
	}
	// A password typed into the username field stays out of the log.
	if a, _ := hostP.login("hunter2-typed-as-name", "x"); a.status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", a.status)
	}
	hostTok := hostP.mustLogin("alice", password)
	host := hostP.mustJoin("standup", joinOpts{token: hostTok})
	other := mintPeer(t, accesstoken.Claims{Room: "retro"})
	if _, err := s.person(t, "127.0.0.2").join("standup", joinOpts{token: other}); err == nil {
		t.Fatal("a token for another room got in")
	}
	minted := hostP.mintToken(`{"roomName":"standup","maxUses":2}`)
	if a := hostP.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private"}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d", a.status)
	}
	if a := hostP.api("/api/v1/token/revoke", `{"token":"`+minted+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d", a.status)
	}
	if err := host.Lock(true); err != nil {
		t.Fatal(err)
	}
	nextEvent(host, signal.TypeRoom, 5*time.Second)

	want := map[string]func(map[string]any) bool{
		"host.login_failed":  func(e map[string]any) bool { return e["user"] == "alice" && e["rule"] == "invalid_credentials" },
		"host.login":         func(e map[string]any) bool { return e["user"] == "alice" && e["address"] == "127.0.0.1" },
		"admission.admitted": func(e map[string]any) bool { return e["role"] == "host" && e["room"] == "standup" },
		"admission.refused":  func(e map[string]any) bool { return e["rule"] == "wrong_room" && e["address"] == "127.0.0.2" },
		"token.minted":       func(e map[string]any) bool { return e["room"] == "standup" && e["max_uses"] == float64(2) },
		"room.created":       func(e map[string]any) bool { return e["room"] == "board" && e["privacy"] == "private" },
		"token.revoked":      func(e map[string]any) bool { return e["token_id"] != "" },
		"admin.locked":       func(e map[string]any) bool { return e["locked"] == true && e["role"] == "host" },
	}
	var lines []string
	if !eventually(10*time.Second, func() bool {
		b, _ := os.ReadFile(auditFile)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		seen := map[string]bool{}
		for _, l := range lines {
			var e map[string]any
			if json.Unmarshal([]byte(l), &e) != nil || e["logger"] != "roomgate.audit" {
				continue
			}
			if ok := want[e["msg"].(string)]; ok != nil && ok(e) {
				seen[e["msg"].(string)] = true
			}
		}
		return len(seen) == len(want)
	}) {
		t.Fatalf("the audit log lacks events; it holds:\n%s", strings.Join(lines, "\n"))
	}
	all := strings.Join(lines, "\n")
	for _, secret := range []string{hostTok, other, minted, password, "not it", "hunter2-typed-as-name", testSecret, apiKey} {
		part := secret
		if i := strings.LastIndexByte(secret, '.'); i >= 0 {
			part = secret[i+1:] // a JWT's signature gives it away
		}
		if strings.Contains(all, part) {
			t.Fatalf("the audit log holds a token, a password or a secret")
		}
	}
}
