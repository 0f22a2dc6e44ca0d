package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/internal/redisrun"
)

func TestAdaptClusterWordsAndRefusals(t *testing.T) {
	t.Parallel()
	out, err := adapt(t, `{
	roomgate_cluster {
		redis rediss://roomgate:s3cret-pw@redis.internal:6380/2
		prefix meet:
	}
	mediaserver {
		signal :7880
		advertise 10.0.0.11:7880
		node_id media-1
		region eu
		turn turn:media-1.example.com:3478
	}
}
http://localhost:8080 {
	roomgate {
		pin_rooms
		region eu
	}
	reverse_proxy /ws {http.vars.roomgate_upstream}
}
`)
	i := strings.Index(out, "{")
	var cfg struct{ Apps map[string]json.RawMessage }
	if err != nil || i < 0 || json.Unmarshal([]byte(out[i:]), &cfg) != nil {
		t.Fatalf("adapt: %v\n%s", err, out)
	}
	var cl, ms map[string]any
	json.Unmarshal(cfg.Apps["roomgate_cluster"], &cl)
	json.Unmarshal(cfg.Apps["mediaserver"], &ms)
	if want := map[string]any{"redis": "rediss://roomgate:s3cret-pw@redis.internal:6380/2", "prefix": "meet:"}; !reflect.DeepEqual(cl, want) {
		t.Fatalf("roomgate_cluster app %v", cl)
	}
	for k, v := range map[string]any{"advertise": "10.0.0.11:7880", "node_id": "media-1", "region": "eu", "turn": []any{"turn:media-1.example.com:3478"}} {
		if !reflect.DeepEqual(ms[k], v) {
			t.Fatalf("mediaserver %s = %v, want %v", k, ms[k], v)
		}
	}
	if h := roomgateHandler(t, out); h["pin_rooms"] != true || h["region"] != "eu" {
		t.Fatalf("roomgate handler %v", h)
	}

	for _, tc := range []struct{ global, says string }{
		{"roomgate_cluster {\n\t\tredis http://redis.internal:6379\n\t}", "redis://"},
		{"roomgate_cluster {\n\t\tredis redis://user:hunter2@[::1\n\t}", "redis://"},
		{"roomgate_cluster {\n\t\tprefix rg:\n\t}", "needs redis"},
		{"roomgate_cluster {\n\t\tredis redis://a:6379 redis://b:6379\n\t}", "one URL"},
		{"roomgate_cluster {\n\t\tredis redis://a:6379\n\t\tsentinel x\n\t}", "unknown roomgate_cluster option"},
		{"mediaserver {\n\t\tadvertise 10.0.0.1\n\t}", "not host:port"},
		{"mediaserver {\n\t\tnode_id a|b\n\t}", "node_id takes one name"},
		{"mediaserver {\n\t\tturn https://x\n\t}", "turn:host"},
	} {
		out, err := adapt(t, "{\n\t"+tc.global+"\n}\n")
		if err == nil || !strings.Contains(out, "Caddyfile:") || !strings.Contains(out, tc.says) {
			t.Errorf("%q: err %v, output:\n%s\nwant the line and %q", tc.global, err, out, tc.says)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%q: the error repeats the password", tc.global)
		}
	}
}

func TestClusterWordsThatCannotWorkStopTheStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, caddyfile, says string }{
		{"pin_rooms without a cluster", "http://localhost:%d {\n\troomgate {\n\t\tsecret " + testSecret + "\n\t\tpin_rooms\n\t}\n}\n", "pin_rooms needs the roomgate_cluster"},
		{"a node listening everywhere without advertise", "{\n\troomgate_cluster {\n\t\tredis redis://127.0.0.1:1\n\t}\n\tmediaserver {\n\t\tsignal :%d\n\t\tsecret " + testSecret + "\n\t}\n}\n", "advertise"},
		{"a redis URL from the environment that is not one", "{\n\troomgate_cluster {\n\t\tredis {env.RG_REDIS}\n\t}\n}\nhttp://localhost:%d {\n\troomgate {\n\t\tsecret " + testSecret + "\n\t}\n}\n", "redis://"},
	} {
		out, err := caddyrun.RunEnv(t, []string{"RG_REDIS=http://user:hunter2@example.com"}, "validate", "--adapter", "caddyfile", "--config", writeCaddyfile(t, fmt.Sprintf(tc.caddyfile, caddyrun.FreePort(t))))
		if err == nil || !strings.Contains(out, tc.says) {
			t.Errorf("%s: err %v, output:\n%s\nwant %q", tc.name, err, out, tc.says)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s: the output repeats the password", tc.name)
		}
	}
}

func TestClusterRedisPasswordIsNeverLogged(t *testing.T) {
	redis := redisrun.Start(t)
	const pw = "correct-horse-battery-staple"
	redis.RequirePassword(t, pw)
	port := caddyrun.FreePort(t)
	in := caddyrun.Start(t, fmt.Sprintf(`{
	roomgate_cluster {
		redis {env.RG_REDIS}
	}
}
http://localhost:%d {
	log
	roomgate {
		secret %s
		user alice %s
	}
	reverse_proxy /ws 127.0.0.1:1
}
`, port, testSecret, testPasswordHash(t)), "RG_REDIS=redis://:"+pw+"@"+redis.Addr)
	p := newPerson(t, "127.0.0.2", port)
	if a, _ := p.login("alice", password); a.status != http.StatusOK {
		t.Fatalf("login through Redis with a password: %d %s", a.status, a.body)
	}
	// A wrong login and Redis going away make the process talk.
	p.login("alice", "wrong")
	redis.Kill()
	p.login("alice", password)
	if strings.Contains(in.Logs(), pw) {
		t.Fatal("the Redis password is in roomgate's logs")
	}
}
