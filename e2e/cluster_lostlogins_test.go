package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/internal/redisrun"
)

// A host in a call when Redis loses its data (issue 23) keeps their login:
// the gateway their call goes through gives Redis back the session its
// live connection proves, so a second tab through another gateway is the
// host without logging in again, and guests come in. A login that ended
// before the loss does not come back, even through a gateway that was away
// from Redis when it ended and still carries its connection.
func TestClusterHostInACallKeepsTheirLoginWhenRedisLosesItsData(t *testing.T) {
	rds := redisrun.Start(t)
	link := newNetCut(t, rds.Addr)
	g1 := clusterGateway(t, rds.Addr, "host_protected")
	g2 := clusterGateway(t, link.addr(), "host_protected")

	// Alice is in a call through gateway 2, logged in through gateway 1;
	// a guest is with her through gateway 1.
	inCall := g1.person(t, "127.0.0.1").mustLogin("alice", password)
	host := g2.person(t, "127.0.0.1").mustSignal("standup", signalOpts{token: inCall})
	if host.hello.Role != "host" {
		t.Fatalf("alice through gateway 2 is %q", host.hello.Role)
	}
	guest := g1.person(t, "127.0.0.3").mustSignal("standup", signalOpts{})

	// Alice's second login, from another address, is in a call through
	// gateway 2 and logs out through gateway 1 while gateway 2 cannot hear
	// of it.
	loggedOut := g1.person(t, "127.0.0.4").mustLogin("alice", password)
	other := g2.person(t, "127.0.0.4").mustSignal("retro", signalOpts{token: loggedOut})
	link.setCut(true)
	if st := g1.person(t, "127.0.0.4").logout(loggedOut); st != http.StatusNoContent {
		t.Fatalf("logout through gateway 1: %d", st)
	}
	if !other.echoes() {
		t.Fatal("gateway 2 cut a call it had no news about")
	}

	// Redis restarts without its data; gateway 2 reaches it again.
	rds.Restart(true)
	link.setCut(false)

	// The login that ended is never given back: its call through gateway 2
	// is cut, and its token opens nothing anywhere.
	if !other.closedWithin(20 * time.Second) {
		t.Fatal("gateway 2 kept the call of a login that ended while it was away from Redis")
	}
	// Alice's call goes on, and her login is back: a second tab through
	// gateway 1 is the host. Until gateway 2 gave it back the answer may
	// be "try again" (503), never "log in again".
	secondTab := hostComesBack(t, g1, "127.0.0.1", inCall, "standup")
	if !host.echoes() || !guest.echoes() {
		t.Fatal("the call in progress broke when Redis lost its data")
	}
	if g := g1.person(t, "127.0.0.5").mustSignal("standup", signalOpts{}); g.hello.Role != "guest" {
		t.Fatalf("a newcomer after the loss: %+v", g.hello)
	}
	for i, g := range []*site{g1, g2} {
		if a := g.person(t, "127.0.0.4").refusedSignal("retro", signalOpts{token: loggedOut}, http.StatusUnauthorized); a.errorCode() != "session_ended" {
			t.Fatalf("the logged-out login through gateway %d: %s", i+1, a.body)
		}
	}
	secondTab.conn.CloseNow()

	// Redis flushed in place (no restart, the event stream unbroken): the
	// gateways notice at their next renewal and give the login back again.
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer rdb.Close()
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	hostComesBack(t, g2, "127.0.0.1", inCall, "retro").conn.CloseNow()
	if !host.echoes() {
		t.Fatal("the call in progress broke when Redis was flushed")
	}
	if a := g1.person(t, "127.0.0.4").refusedSignal("retro", signalOpts{token: loggedOut}, http.StatusUnauthorized); a.errorCode() != "session_ended" {
		t.Fatalf("the logged-out login after the flush: %s", a.body)
	}
}

// hostComesBack opens the host's signalling to room through g with token
// until it is admitted as the host, within 20 s; "try again" (503) is
// allowed meanwhile, any other refusal fails the test.
func hostComesBack(t *testing.T, g *site, addr, token, room string) *signalling {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, a := g.person(t, addr).signal(room, signalOpts{token: token})
		if c != nil {
			if c.hello.Role != "host" {
				t.Fatalf("admitted as %q, want host", c.hello.Role)
			}
			return c
		}
		if a.status != http.StatusServiceUnavailable {
			t.Fatalf("the host's login after Redis lost its data: %d %s", a.status, a.body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host was still told to try again 20 s after Redis lost its data: %s", a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Redis restored from a backup made before a host logged in keeps the
// incarnation it had then, and go-redis carries the event stream over the
// restart, so nothing says it lost data: the gateway carrying the host's
// call finds, at its next renewal, that the store no longer knows the
// login its live connection proves, and gives it back. Before, the call
// went on, but the login never came back: the host's second tab was told
// to log in again, and newcomers found no host. (Until that renewal, a
// third of the lease, a second tab through another gateway is still told
// to log in again: nothing tells that gateway a login is missing rather
// than never given.)
func TestClusterHostInACallKeepsTheirLoginWhenRedisIsRestoredFromABackup(t *testing.T) {
	rds := redisrun.Start(t)
	g1 := clusterGateway(t, rds.Addr, "host_protected")
	g2 := clusterGateway(t, rds.Addr, "host_protected")
	// The backup: the gateways had started (the incarnation is in it),
	// nobody had logged in.
	backup := rds.Snapshot()

	inCall := g1.person(t, "127.0.0.1").mustLogin("alice", password)
	host := g1.person(t, "127.0.0.1").mustSignal("standup", signalOpts{token: inCall})
	if host.hello.Role != "host" {
		t.Fatalf("alice is %q", host.hello.Role)
	}
	guest := g2.person(t, "127.0.0.3").mustSignal("standup", signalOpts{})

	rds.RestartFrom(backup)

	deadline := time.Now().Add(20 * time.Second)
	for {
		c, a := g2.person(t, "127.0.0.1").signal("standup", signalOpts{token: inCall})
		if c != nil {
			if c.hello.Role != "host" {
				t.Fatalf("admitted as %q, want host", c.hello.Role)
			}
			c.conn.CloseNow()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host's login did not come back within 20 s of the restore: %d %s", a.status, a.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !host.echoes() || !guest.echoes() {
		t.Fatal("the call in progress broke when Redis was restored from a backup")
	}
	if g := g2.person(t, "127.0.0.5").mustSignal("standup", signalOpts{}); g.hello.Role != "guest" {
		t.Fatalf("a newcomer after the restore: %+v", g.hello)
	}
}
