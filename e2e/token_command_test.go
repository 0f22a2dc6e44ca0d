package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

func TestTokenCommandMintsWhatTheGatewayTakes(t *testing.T) {
	t.Parallel()
	out, err := caddyrun.Run(t, "token", "--secret", testSecret, "--room", "standup", "--admin", "--name", "Ada",
		"--email", "ada@example.com", "--eject-after", "10m", "--ttl", "2h")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	tok := strings.TrimSpace(out)
	s := gatewaySite(t, "api_key "+apiKey, "")
	p := s.person(t, "127.0.0.2")
	a := p.api("/api/v1/token/validate", `{"token":"`+tok+`"}`, nil)
	var got map[string]any
	if a.status != http.StatusOK || json.Unmarshal(a.body, &got) != nil {
		t.Fatalf("validate: %d %s", a.status, a.body)
	}
	if got["roomName"] != "standup" || got["isAdmin"] != true || got["email"] != "ada@example.com" ||
		got["ejectAfterElapsedTimeInSec"] != float64(600) {
		t.Fatalf("the minted token says %v", got)
	}
	if g := p.mustSignal("standup", signalOpts{token: tok}); g.hello.Role != "admin" || g.hello.Name != "Ada" {
		t.Fatalf("admitted as %+v", g.hello)
	}
	p.refusedSignal("retro", signalOpts{token: tok}, http.StatusUnauthorized)

	// Bad properties stop the command with the rule they break, and no token.
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--room", "a/b"}, "room"},
		{[]string{"--room", "a", "--global"}, "--room <name> or --global"},
		{[]string{}, "--room <name> or --global"},
		{[]string{"--room", "a", "--meta", strings.Repeat("m", 1001)}, "meta"},
	} {
		out, err := caddyrun.Run(t, append([]string{"token", "--secret", testSecret}, tc.args...)...)
		if err == nil || strings.Contains(out, "eyJ") || !strings.Contains(out, tc.says) {
			t.Errorf("token %v: %v %s; want %q", tc.args, err, out, tc.says)
		}
	}
}
