package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/internal/redisrun"
)

// Issue 23, item 5: with `sentinels` and `master`, a gateway follows Redis
// Sentinel to the replica it promotes when the primary dies. Debian's
// redis-sentinel: a primary, a replica and three sentinels (quorum 2, the
// primary down after 1 s) on loopback. The primary is killed (SIGKILL)
// while a call is on: admissions are refused (503, fail closed) until the
// promotion, then served again; the call goes on; a token revoked before
// the failover is refused at every moment.
//
// With a plain `redis` URL naming the first primary the gateway would
// never serve again: nothing restarts that primary, and only the sentinels
// know the new one.
func TestClusterSentinelFailoverFailsClosedThenServes(t *testing.T) {
	rs := redisrun.StartSentinels(t, "roomgate-main")
	g := gatewaySite(t, "api_key "+apiKey, fmt.Sprintf("roomgate_cluster {\n\t\tsentinels %s\n\t\tmaster %s\n\t}",
		strings.Join(rs.Addrs(), " "), rs.Master))
	p := g.person(t, "127.0.0.2")
	validate := func(tok string) answer {
		return p.api("/api/v1/token/validate", `{"token":"`+tok+`"}`, nil)
	}

	// A peer in a call, with a token; a second token revoked.
	stays := p.mintToken(`{"roomName":"standup"}`)
	call := p.mustSignal("standup", signalOpts{token: stays})
	revoked := p.mintToken(`{"roomName":"standup"}`)
	if a := p.api("/api/v1/token/revoke", `{"token":"`+revoked+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if a := validate(revoked); a.status != http.StatusUnauthorized {
		t.Fatalf("the revoked token before the failover: %d %s", a.status, a.body)
	}
	// Replication is asynchronous: the revocation is on the replica before
	// the primary dies (what a failover loses is the subject of
	// TestClusterGatewayKeepsRevocationsItHeardOfThroughARedisThatLostThem).
	rs.Synced(t)
	first := rs.PrimaryAddr(t)
	// …but a revocation can be made just before the primary dies and never
	// reach the replica: as if it had not, the replica forgets it. The
	// gateway, which heard of it, gives it back before it serves again.
	replica := redis.NewClient(&redis.Options{Addr: rs.Replica.Addr, Password: rs.Password})
	defer replica.Close()
	ctx := context.Background()
	if err := replica.ConfigSet(ctx, "replica-read-only", "no").Err(); err != nil {
		t.Fatal(err)
	}
	if err := replica.Del(ctx, "rg:revoked").Err(); err != nil {
		t.Fatal(err)
	}
	if n := replica.ZCard(ctx, "rg:revoked").Val(); n != 0 {
		t.Fatalf("the replica still holds %d revocations", n)
	}

	killed := time.Now()
	rs.Primary.Kill()
	// Throughout, the revoked token is refused as revoked, or for want of
	// Redis: never admitted.
	stop, probed := make(chan struct{}), make(chan int)
	pr := g.person(t, "127.0.0.2")
	go func() {
		n := 0
		defer func() { probed <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s, a := pr.signal("standup", signalOpts{token: revoked}); s != nil {
				t.Errorf("the revoked token was admitted %v after the primary's death", time.Since(killed))
			} else if a.status != http.StatusUnauthorized && a.status != http.StatusServiceUnavailable {
				t.Errorf("the revoked token %v after the primary's death: %d %s", time.Since(killed), a.status, a.body)
			}
			if a := pr.api("/api/v1/token/validate", `{"token":"`+revoked+`"}`, nil); a.status != http.StatusUnauthorized && a.status != http.StatusServiceUnavailable {
				t.Errorf("validate of the revoked token %v after the primary's death: %d %s", time.Since(killed), a.status, a.body)
			}
			n++
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// A newcomer: 503 (fail closed) until the promotion, then in.
	var back time.Duration
	refused := 0
	for deadline := killed.Add(60 * time.Second); back == 0; {
		if time.Now().After(deadline) {
			close(stop)
			<-probed
			t.Fatalf("admissions did not come back within 60 s of the primary's death (%d refused)", refused)
		}
		s, a := g.person(t, "127.0.0.3").signal("standup", signalOpts{})
		switch {
		case s != nil:
			back = time.Since(killed)
			s.conn.CloseNow()
		case a.status == http.StatusServiceUnavailable:
			refused++
			if a.header.Get("Retry-After") == "" {
				t.Errorf("a 503 without Retry-After: %s", a.body)
			}
		default:
			t.Errorf("a newcomer %v after the primary's death: %d %s", time.Since(killed), a.status, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The revoked token is probed for a while after the return too.
	time.Sleep(time.Second)
	close(stop)
	probes := <-probed
	t.Logf("sentinel failover: admissions back after %v (%d admissions refused with 503 meanwhile; the revoked token probed %d times, never admitted)",
		back.Round(10*time.Millisecond), refused, probes)
	if refused == 0 {
		t.Fatal("no admission was refused while the primary was dead: was it the primary?")
	}
	if now := rs.PrimaryAddr(t); now != rs.Replica.Addr || now == first {
		t.Fatalf("the sentinels name %s as primary (first %s, replica %s)", now, first, rs.Replica.Addr)
	}

	// After the promotion: a new join works, the call went on, and the
	// revoked token is still refused as revoked.
	g.person(t, "127.0.0.4").mustSignal("standup", signalOpts{})
	if !call.echoes() {
		t.Fatal("the call in progress did not survive the failover")
	}
	if _, a := p.signal("standup", signalOpts{token: revoked}); a.status != http.StatusUnauthorized || !strings.Contains(string(a.body), "revoked") {
		t.Fatalf("the revoked token after the failover: %d %s", a.status, a.body)
	}
	if a := validate(revoked); a.status != http.StatusUnauthorized {
		t.Fatalf("validate of the revoked token after the failover: %d %s", a.status, a.body)
	}
	if a := validate(stays); a.status != http.StatusOK {
		t.Fatalf("validate of a good token after the failover: %d %s", a.status, a.body)
	}
}

func TestAdaptClusterSentinelWordsAndRefusals(t *testing.T) {
	t.Parallel()
	out, err := adapt(t, `{
	roomgate_cluster {
		sentinels 10.0.0.1:26379 10.0.0.2:26379 [fd00::3]:26379
		master roomgate-main
		sentinel_password {env.ROOMGATE_SENTINEL_PASSWORD}
		password {env.ROOMGATE_REDIS_PASSWORD}
		prefix meet:
	}
}
`)
	i := strings.Index(out, "{")
	var cfg struct{ Apps map[string]json.RawMessage }
	if err != nil || i < 0 || json.Unmarshal([]byte(out[i:]), &cfg) != nil {
		t.Fatalf("adapt: %v\n%s", err, out)
	}
	var cl map[string]any
	json.Unmarshal(cfg.Apps["roomgate_cluster"], &cl)
	want := map[string]any{
		"sentinels":         []any{"10.0.0.1:26379", "10.0.0.2:26379", "[fd00::3]:26379"},
		"master":            "roomgate-main",
		"sentinel_password": "{env.ROOMGATE_SENTINEL_PASSWORD}",
		"password":          "{env.ROOMGATE_REDIS_PASSWORD}",
		"prefix":            "meet:",
	}
	if !reflect.DeepEqual(cl, want) {
		t.Fatalf("roomgate_cluster app %v", cl)
	}

	for _, tc := range []struct {
		global, says string
		line         int
	}{
		{"roomgate_cluster {\n\t\tsentinels 10.0.0.1:26379\n\t}", "sentinels needs master", 3},
		{"roomgate_cluster {\n\t\tprefix rg:\n\t\tmaster m\n\t}", "master needs sentinels", 4},
		{"roomgate_cluster {\n\t\tsentinels 10.0.0.1:26379 10.0.0.2\n\t\tmaster m\n\t}", "10.0.0.2", 3},
		{"roomgate_cluster {\n\t\tsentinels 10.0.0.1:99999\n\t\tmaster m\n\t}", "is not one", 3},
		{"roomgate_cluster {\n\t\tsentinels\n\t\tmaster m\n\t}", "one or more host:port", 3},
		{"roomgate_cluster {\n\t\tredis redis://a:6379\n\t\tsentinels 10.0.0.1:26379\n\t\tmaster m\n\t}", "exclude each other", 4},
		{"roomgate_cluster {\n\t\tsentinels 10.0.0.1:26379\n\t\tmaster m\n\t\tredis redis://a:6379\n\t}", "exclude each other", 5},
		{"roomgate_cluster {\n\t\tredis redis://a:6379\n\t\tpassword hunter2\n\t}", "password goes with sentinels", 4},
		{"roomgate_cluster {\n\t\tsentinels 10.0.0.1:26379\n\t\tmaster m\n\t\tsentinel_password hunter2 x\n\t}", "sentinel_password takes one value", 5},
	} {
		out, err := adapt(t, "{\n\t"+tc.global+"\n}\n")
		if err == nil || !strings.Contains(out, fmt.Sprintf("Caddyfile:%d", tc.line)) || !strings.Contains(out, tc.says) {
			t.Errorf("%q: err %v, output:\n%s\nwant line %d and %q", tc.global, err, out, tc.line, tc.says)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%q: the error repeats the password", tc.global)
		}
	}
}

// With passwords on the data nodes and on the sentinels, both from the
// environment: roomgate reaches the primary through the sentinels, follows
// a failover, and logs neither password.
func TestClusterSentinelPasswordsFromTheEnvironmentAreNeverLogged(t *testing.T) {
	const pw, spw = "correct-horse-battery-staple", "sentinel-tr0ub4dor-and-3"
	rs := redisrun.StartSentinelsWithPasswords(t, "roomgate-main", pw, spw)
	port := caddyrun.FreePort(t)
	in := caddyrun.Start(t, fmt.Sprintf(`{
	roomgate_cluster {
		sentinels %s
		master %s
		sentinel_password {env.RG_SENTINEL_PASSWORD}
		password {env.RG_REDIS_PASSWORD}
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
`, strings.Join(rs.Addrs(), " "), rs.Master, port, testSecret, testPasswordHash(t)),
		"RG_REDIS_PASSWORD="+pw, "RG_SENTINEL_PASSWORD="+spw)
	p := newPerson(t, "127.0.0.2", port)
	if a, _ := p.login("alice", password); a.status != http.StatusOK {
		t.Fatalf("login through Sentinel with passwords: %d %s", a.status, a.body)
	}
	p.login("alice", "wrong")
	rs.Primary.Kill()
	if a, _ := p.login("alice", password); a.status != http.StatusServiceUnavailable {
		t.Fatalf("a login right after the primary's death: %d %s", a.status, a.body)
	}
	if !eventually(30*time.Second, func() bool {
		a, _ := p.login("alice", password)
		return a.status == http.StatusOK
	}) {
		t.Fatal("logins did not come back after the failover")
	}
	for _, secret := range []string{pw, spw} {
		if strings.Contains(in.Logs(), secret) {
			t.Fatalf("a password is in roomgate's logs")
		}
	}
	if !strings.Contains(in.Logs(), rs.Master) {
		t.Fatal("the start was not logged (the check above saw nothing)")
	}
}
