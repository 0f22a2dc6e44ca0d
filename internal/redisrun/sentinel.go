package redisrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/internal/caddyrun"
)

// Sentinels is a primary, one replica of it and three redis-sentinel
// processes watching them (quorum 2), all on free loopback ports, stopped
// when the test ends. The sentinels take the primary for dead after one
// second without an answer.
type Sentinels struct {
	// Master is the name the sentinels monitor the primary under.
	Master  string
	Primary *Server
	Replica *Server
	// Watchers are the three sentinels.
	Watchers []*Server
	// Password is the data nodes' requirepass, SentinelPassword the
	// sentinels'; "" for none.
	Password, SentinelPassword string
}

// StartSentinels starts them and waits until every sentinel knows the
// replica and the two other sentinels, and the replica has the primary's
// data: a failover can happen from then on.
func StartSentinels(t testing.TB, master string) *Sentinels {
	t.Helper()
	return StartSentinelsWithPasswords(t, master, "", "")
}

// StartSentinelsWithPasswords is StartSentinels with password the primary's
// and the replica's requirepass, and sentinelPassword the sentinels'
// (either may be "").
func StartSentinelsWithPasswords(t testing.TB, master, password, sentinelPassword string) *Sentinels {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-sentinel"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs Debian's redis-server and redis-sentinel)", bin)
		}
	}
	s := &Sentinels{Master: master, Password: password, SentinelPassword: sentinelPassword}
	var auth []string
	if password != "" {
		auth = []string{"--requirepass", password, "--masterauth", password}
	}
	s.Primary = &Server{Addr: fmt.Sprintf("127.0.0.1:%d", caddyrun.FreePort(t)), dir: t.TempDir(), t: t, extra: auth}
	s.Primary.start()
	t.Cleanup(s.Primary.Kill)
	_, pport, _ := strings.Cut(s.Primary.Addr, ":")
	s.Replica = &Server{Addr: fmt.Sprintf("127.0.0.1:%d", caddyrun.FreePort(t)), dir: t.TempDir(), t: t,
		extra: append([]string{"--replicaof", "127.0.0.1", pport}, auth...)}
	s.Replica.start()
	t.Cleanup(s.Replica.Kill)
	for range 3 {
		w := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", caddyrun.FreePort(t)), dir: t.TempDir(), t: t}
		_, port, _ := strings.Cut(w.Addr, ":")
		w.sentinel = filepath.Join(w.dir, "sentinel.conf")
		conf := fmt.Sprintf(`port %s
bind 127.0.0.1
dir %s
sentinel monitor %s 127.0.0.1 %s 2
sentinel down-after-milliseconds %[3]s 1000
sentinel failover-timeout %[3]s 5000
sentinel parallel-syncs %[3]s 1
`, port, w.dir, master, pport)
		if password != "" {
			conf += fmt.Sprintf("sentinel auth-pass %s %s\n", master, password)
		}
		if sentinelPassword != "" {
			conf += fmt.Sprintf("requirepass %s\n", sentinelPassword)
		}
		if err := os.WriteFile(w.sentinel, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		w.start()
		t.Cleanup(w.Kill)
		s.Watchers = append(s.Watchers, w)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, w := range s.Watchers {
		sc := redis.NewSentinelClient(&redis.Options{Addr: w.Addr, Password: sentinelPassword})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			replicas, err1 := sc.Replicas(ctx, master).Result()
			others, err2 := sc.Sentinels(ctx, master).Result()
			cancel()
			if err1 == nil && err2 == nil && len(replicas) == 1 && len(others) == 2 {
				break
			}
			if time.Now().After(deadline) {
				sc.Close()
				t.Fatalf("sentinel %s after 30 s: replicas %v (%v), other sentinels %v (%v)", w.Addr, replicas, err1, others, err2)
			}
			time.Sleep(100 * time.Millisecond)
		}
		sc.Close()
	}
	s.Synced(t)
	return s
}

// Addrs are the sentinels' host:port.
func (s *Sentinels) Addrs() []string {
	var a []string
	for _, w := range s.Watchers {
		a = append(a, w.Addr)
	}
	return a
}

// Synced waits until the replica has everything the primary was sent.
func (s *Sentinels) Synced(t testing.TB) {
	t.Helper()
	p := redis.NewClient(&redis.Options{Addr: s.Primary.Addr, Password: s.Password})
	r := redis.NewClient(&redis.Options{Addr: s.Replica.Addr, Password: s.Password})
	defer p.Close()
	defer r.Close()
	offset := func(c *redis.Client, field string) string {
		info, _ := c.Info(context.Background(), "replication").Result()
		for _, l := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), field+":"); ok {
				return v
			}
		}
		return ""
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		want := offset(p, "master_repl_offset")
		if offset(r, "master_link_status") == "up" && want != "" && offset(r, "master_repl_offset") == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not catch up with the primary (offset %s) within 20 s", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PrimaryAddr is the host:port the first sentinel that answers names as
// the primary now.
func (s *Sentinels) PrimaryAddr(t testing.TB) string {
	t.Helper()
	for _, w := range s.Watchers {
		if w.cmd == nil {
			continue
		}
		sc := redis.NewSentinelClient(&redis.Options{Addr: w.Addr, Password: s.SentinelPassword})
		a, err := sc.GetMasterAddrByName(context.Background(), s.Master).Result()
		sc.Close()
		if err == nil && len(a) == 2 {
			return a[0] + ":" + a[1]
		}
	}
	t.Fatal("no sentinel names the primary")
	return ""
}
