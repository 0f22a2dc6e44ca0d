package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// adapt runs `roomgate adapt` on a Caddyfile and returns its output.
func adapt(t testing.TB, caddyfile string, env ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	return caddyrun.RunEnv(t, env, "adapt", "--config", path)
}

// roomgateHandler finds the roomgate handler in adapted JSON.
func roomgateHandler(t testing.TB, adapted string) map[string]any {
	t.Helper()
	i := strings.Index(adapted, "{")
	var cfg any
	if i < 0 || json.Unmarshal([]byte(adapted[i:]), &cfg) != nil {
		t.Fatalf("adapt printed no JSON:\n%s", adapted)
	}
	var found map[string]any
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["handler"] == "roomgate" {
				found = x
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(cfg)
	if found == nil {
		t.Fatalf("no roomgate handler in:\n%s", adapted)
	}
	return found
}

func TestAdaptEveryWord(t *testing.T) {
	t.Parallel()
	h := testPasswordHash(t)
	out, err := adapt(t, `http://localhost:8080 {
	roomgate {
		secret `+testSecret+`
		host_protected
		user_auth on
		user alice `+h+`
		user bob `+h+` rooms standup,retro
		users_json `+"`"+`[{"username":"carol","password":"pw","allowed_rooms":["*"]}]`+"`"+`
		token_ttl 2h
		signal_path /signal
		host_grace 10s
		api_key `+apiKey+`
		auto_create_rooms off
		turn turn:meet.example.com:3478 turns:meet.example.com:5349?transport=tcp
		turn_ttl 5m
		max_connections_per_address 50
		invitation_ttl 12h
		invitation_uses 8
	}
	reverse_proxy /signal 127.0.0.1:7880
}
`)
	if err != nil {
		t.Fatalf("adapt: %v\n%s", err, out)
	}
	got := roomgateHandler(t, out)
	want := map[string]any{
		"handler":        "roomgate",
		"secret":         testSecret,
		"host_protected": true,
		"user_auth":      true,
		"users": []any{
			map[string]any{"username": "alice", "password": h},
			map[string]any{"username": "bob", "password": h, "rooms": []any{"standup", "retro"}},
		},
		"users_json":                  `[{"username":"carol","password":"pw","allowed_rooms":["*"]}]`,
		"token_ttl":                   float64(7.2e12),
		"signal_path":                 "/signal",
		"host_grace":                  float64(1e10),
		"api_key":                     apiKey,
		"auto_create_rooms":           false,
		"turn":                        []any{"turn:meet.example.com:3478", "turns:meet.example.com:5349?transport=tcp"},
		"turn_ttl":                    float64(3e11),
		"max_connections_per_address": float64(50),
		"invitation_ttl":              float64(4.32e13),
		"invitation_uses":             float64(8),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("adapted handler\n got %v\nwant %v", got, want)
	}
	// roomgate runs before reverse_proxy with no order line.
	if strings.Index(out, `"handler":"roomgate"`) > strings.Index(out, `"handler":"reverse_proxy"`) {
		t.Fatal("roomgate is ordered after reverse_proxy")
	}
}

func TestAdaptRefusesWithTheLine(t *testing.T) {
	t.Parallel()
	h := testPasswordHash(t)
	for _, tc := range []struct {
		name, words string
		env         []string
		line        string
		says        string
	}{
		{"unknown word", "host_protectd", nil, "Caddyfile:3", "unknown roomgate option"},
		{"short secret", "secret tooshort", nil, "Caddyfile:3", "at least 32"},
		{"short secret from the environment", "secret {$RG_SECRET}", []string{"RG_SECRET=abc"}, "Caddyfile:3", "at least 32"},
		{"plain password", "user alice hunter2", nil, "Caddyfile:3", "not a bcrypt or argon2id hash"},
		{"user without hash", "user alice", nil, "Caddyfile:3", "user takes"},
		{"bad room", "user bob " + h + " rooms a/b", nil, "Caddyfile:3", "room"},
		{"short token_ttl", "token_ttl 10s", nil, "Caddyfile:3", "shorter than a minute"},
		{"bad duration", "host_grace soon", nil, "Caddyfile:3", "not a duration"},
		{"bad flag", "host_protected maybe", nil, "Caddyfile:3", "on or off"},
		{"relative signal path", "signal_path ws", nil, "Caddyfile:3", "must start with /"},
		{"short api key", "api_key short", nil, "Caddyfile:3", "at least 16"},
		{"TURN URL with a credential", "turn turn:user:pw@example.com", nil, "Caddyfile:3", "turn:host"},
		{"not a TURN URL", "turn https://example.com", nil, "Caddyfile:3", "turn:host"},
		{"short turn_ttl", "turn_ttl 1s", nil, "Caddyfile:3", "shorter than 10 seconds"},
		{"connection cap", "max_connections_per_address many", nil, "Caddyfile:3", "positive number or off"},
		{"short invitation_ttl", "invitation_ttl 30s", nil, "Caddyfile:3", "shorter than a minute"},
		{"no invitation uses", "invitation_uses 0", nil, "Caddyfile:3", "from 1 to 1000000"},
	} {
		out, err := adapt(t, "http://localhost:8080 {\n\troomgate {\n\t\t"+tc.words+"\n\t}\n}\n", tc.env...)
		if err == nil || !strings.Contains(out, tc.line) || !strings.Contains(out, tc.says) {
			t.Errorf("%s: err %v, output:\n%s\nwant %q and %q", tc.name, err, out, tc.line, tc.says)
		}
		if strings.Contains(tc.words, "hunter2") && strings.Count(out, "hunter2") > 0 {
			t.Errorf("%s: the error repeats the password", tc.name)
		}
	}
}

func TestListModulesHasRoomgate(t *testing.T) {
	t.Parallel()
	out, err := caddyrun.Run(t, "list-modules")
	if err != nil || !regexp.MustCompile(`(?m)^http\.handlers\.roomgate$`).MatchString(out) {
		t.Fatalf("list-modules: %v\n%s", err, out)
	}
}

func TestAdaptTURNWordsAndRefusals(t *testing.T) {
	t.Parallel()
	out, err := adapt(t, `{
	turn {
		listen :3478 127.0.0.1:3479
		tls_listen :5349
		realm meet.example.com
		relay_ip 203.0.113.7
		relay_ports 50000-50100
		secret `+testSecret+`
		allow_peer 10.0.5.0/24 192.0.2.7/32
		quota 4
	}
}
`)
	i := strings.Index(out, "{")
	var cfg struct{ Apps map[string]json.RawMessage }
	if err != nil || i < 0 || json.Unmarshal([]byte(out[i:]), &cfg) != nil {
		t.Fatalf("adapt: %v\n%s", err, out)
	}
	var got map[string]any
	json.Unmarshal(cfg.Apps["turn"], &got)
	want := map[string]any{
		"listen": []any{":3478", "127.0.0.1:3479"}, "tls_listen": []any{":5349"}, "realm": "meet.example.com",
		"relay_ip": "203.0.113.7", "relay_ports": "50000-50100", "secret": testSecret,
		"allow_peer": []any{"10.0.5.0/24", "192.0.2.7/32"}, "quota": float64(4),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("turn app\n got %v\nwant %v", got, want)
	}

	for _, tc := range []struct{ words, says string }{
		{"relay_ip 127.0.0.1\n\t\tquota 0", "quota"},
		{"relay_ip nowhere", "not an IP address"},
		{"relay_ip 127.0.0.1\n\t\trelay_ports 6000-5000", "ends before it starts"},
		{"relay_ip 127.0.0.1\n\t\tallow_peer 10.0.0.1", "not a CIDR range"},
		{"relay_ip 127.0.0.1\n\t\tlisten 3478", "not host:port"},
		{"relay_ip 127.0.0.1\n\t\trelay 1", "unknown turn option"},
		{"realm x", "needs relay_ip"},
	} {
		out, err := adapt(t, "{\n\tturn {\n\t\t"+tc.words+"\n\t}\n}\n")
		if err == nil || !strings.Contains(out, "Caddyfile:") || !strings.Contains(out, tc.says) {
			t.Errorf("%q: err %v, output:\n%s\nwant the line and %q", tc.words, err, out, tc.says)
		}
	}
}

func TestAdaptRepositoryCaddyfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	out, err := adapt(t, string(b))
	if err != nil || !strings.Contains(out, `"handler":"roomgate"`) || !strings.Contains(out, `"mediaserver":`) || !strings.Contains(out, `"turn":`) {
		t.Fatalf("adapt of the repository's Caddyfile: %v\n%s", err, out)
	}
	// The default site answers every name on its port: a LAN address gets
	// the pages (which say why there is no camera), not Caddy's empty 200.
	if strings.Contains(out, `"host":`) || !strings.Contains(out, `":8080"`) {
		t.Fatalf("the default site is not every name on :8080:\n%s", out)
	}
	// No secret is pasted into the JSON: it is read from the environment at start.
	if strings.Contains(out, "ROOMGATE_SECRET") && !strings.Contains(out, "{env.ROOMGATE_SECRET}") {
		t.Fatal("the secret's placeholder was expanded at adapt time")
	}
}

func TestAdaptReadsEveryNumberWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ global, says string }{
		{"mediaserver {\n\t\tudp_port 78x2\n\t}", `78x2\" is not a port`},
		{"mediaserver {\n\t\ttcp_port 7881abc\n\t}", `7881abc\" is not a port`},
		{"mediaserver {\n\t\tmax_peers_per_room 10x\n\t}", "max_peers_per_room"},
		{"turn {\n\t\trelay_ip 127.0.0.1\n\t\trelay_ports 49152-6553x\n\t}", `6553x\" is not a port`},
		{"turn {\n\t\trelay_ip 127.0.0.1\n\t\tquota 4q\n\t}", "quota"},
		{"mediaserver {\n\t\tended_for soon\n\t}", "ended_for"},
		{"mediaserver {\n\t\tlobby_wait 10ms\n\t}", "lobby_wait"},
		{"mediaserver {\n\t\tdenied_for forever\n\t}", "denied_for"},
	} {
		out, err := adapt(t, "{\n\t"+tc.global+"\n}\n")
		if err == nil || !strings.Contains(out, "Caddyfile:") || !strings.Contains(out, tc.says) {
			t.Errorf("%q: err %v, output:\n%s\nwant the line and %q", tc.global, err, out, tc.says)
		}
	}
}
