package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/cluster/clustertest"
	"github.com/roomgate/roomgate/cluster/redisstore"
	"github.com/roomgate/roomgate/internal/redisrun"
)

func open(t *testing.T, url, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(redisstore.Options{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := redisrun.Start(t)
	n := 0
	clustertest.Run(t, func(t *testing.T) (cluster.Store, cluster.Store) {
		// Each case under a prefix of its own, as a site of its own.
		n++
		prefix := fmt.Sprintf("t%d:", n)
		return open(t, srv.URL(), prefix), open(t, srv.URL(), prefix)
	})
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"", "http://example.com", "redis://user:hunter2@[::1"} {
		_, err := redisstore.New(redisstore.Options{URL: u})
		if err == nil {
			t.Fatalf("%q was taken", u)
		}
		if u != "" && len(u) > 10 && contains(err.Error(), "hunter2") {
			t.Fatalf("the error repeats the password: %v", err)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestEmptiedRedisAnswersResetUntilRestored(t *testing.T) {
	srv := redisrun.Start(t)
	s := open(t, srv.URL(), "")
	ctx := context.Background()
	if _, err := s.Revoked(ctx, "t1"); !errors.Is(err, cluster.ErrReset) {
		t.Fatalf("a Redis nobody restored: %v", err)
	}
	if err := s.Restored(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, "t1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	srv.Restart(false)
	if r, err := s.Revoked(ctx, "t1"); err != nil || !r {
		t.Fatalf("after a restart with its data: %v %v", r, err)
	}
	srv.Restart(true)
	if _, err := s.Revoked(ctx, "t1"); !errors.Is(err, cluster.ErrReset) {
		t.Fatalf("after a restart without its data: %v", err)
	}
}

// A Redis that lost its data has a new incarnation; one restarted with its
// data keeps the one it had.
func TestIncarnationChangesWhenRedisLosesItsData(t *testing.T) {
	srv := redisrun.Start(t)
	a, b := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	ctx := context.Background()
	first, err := a.Incarnation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart(false)
	if again, err := b.Incarnation(ctx); err != nil || again != first {
		t.Fatalf("after a restart with its data: %q (%v), was %q", again, err, first)
	}
	srv.Restart(true)
	second, err := b.Incarnation(ctx)
	if err != nil || second == first {
		t.Fatalf("after a restart without its data: %q (%v), was %q", second, err, first)
	}
	if got, err := a.Incarnation(ctx); err != nil || got != second {
		t.Fatalf("the other process reads %q (%v), want %q", got, err, second)
	}
}
