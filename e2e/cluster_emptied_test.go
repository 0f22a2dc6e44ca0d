package e2e

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// Redis coming back empty (issue 23) does not end the calls in progress:
// the node serving a room finds no pin at its next lease renewal and gives
// the pin back, under the epoch it serves the room at, instead of taking
// the room as moved and telling everyone `bye` `moved`. A newcomer then
// lands on the same node, in the same room.
func TestClusterRedisComingBackEmptyKeepsCallsOnTheirNode(t *testing.T) {
	c := newCluster(t, 1, 2, "")
	g := c.gateways[0]
	token := g.person(t, "127.0.0.2").mintToken(`{"roomName":"standup","name":"Ada"}`)
	ada := g.person(t, "127.0.0.2").mustJoin("standup", joinOpts{token: token, name: "Ada"})
	bob := g.person(t, "127.0.0.3").mustJoin("standup", joinOpts{name: "Bob"})
	ra, rb := receive(ada), receive(bob)
	publishAV(t, ada)
	publishAV(t, bob)
	if !ra.hears(20, bob.ID()) || !rb.hears(20, ada.ID()) {
		t.Fatal("no media between the peers before Redis emptied")
	}
	holder := c.pinnedNode(t, "standup")
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	defer rdb.Close()
	ctx := context.Background()
	epoch := rdb.HGet(ctx, "rg:pin:standup", "epoch").Val()
	if epoch == "" {
		t.Fatal("the room has no pin epoch")
	}

	// Redis loses everything, as one restarted without its data would.
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	flushed := time.Now()
	// Over the holder's next three lease renewals (each sets its lease
	// again: the key reappears, or its time to live goes back up), nobody
	// is told to leave.
	nodeKey := "rg:node:" + holder.id
	renewals, last := 0, time.Duration(-2) // -2: no key
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for renewals < 3 {
		select {
		case <-ada.Done():
			t.Fatalf("Ada's signalling ended %v after Redis emptied, bye %+v", time.Since(flushed).Round(time.Millisecond), ada.Bye())
		case <-bob.Done():
			t.Fatalf("Bob's signalling ended %v after Redis emptied, bye %+v", time.Since(flushed).Round(time.Millisecond), bob.Bye())
		case <-deadline:
			t.Fatalf("saw %d lease renewals of %s in 10 s", renewals, holder.id)
		case <-tick.C:
		}
		ttl, err := rdb.PTTL(ctx, nodeKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl >= 0 && (last < 0 || ttl > last+300*time.Millisecond) {
			renewals++
		}
		last = ttl
	}
	t.Logf("%s renewed its lease %d times in %v after Redis emptied", holder.id, renewals, time.Since(flushed).Round(time.Millisecond))
	// One more look, after the third renewal's answer had time to act.
	select {
	case <-ada.Done():
		t.Fatalf("Ada's signalling ended, bye %+v", ada.Bye())
	case <-bob.Done():
		t.Fatalf("Bob's signalling ended, bye %+v", bob.Bye())
	case <-time.After(200 * time.Millisecond):
	}
	// The pin is back with the holder, under the epoch it had.
	if pin := rdb.HGetAll(ctx, "rg:pin:standup").Val(); pin["node"] != holder.id || pin["epoch"] != epoch {
		t.Fatalf("after Redis emptied the room is pinned %v, want %s at %s", pin, holder.id, epoch)
	}
	if m := metric(t, holder.Instance, "roomgate_peers"); m != 2 {
		t.Fatalf("peers on the holder: %v", m)
	}
	// Media still flows both ways.
	a0, b0 := ra.count(bob.ID(), "video"), rb.count(ada.ID(), "video")
	if !ra.waitFor(5*time.Second, func() bool { return ra.count(bob.ID(), "video") > a0+20 }) ||
		!rb.waitFor(5*time.Second, func() bool { return rb.count(ada.ID(), "video") > b0+20 }) {
		t.Fatal("media stopped after Redis emptied")
	}

	// A newcomer with a token (host logins were lost with Redis) lands on
	// the same node, in the same room. Token admissions answer 503 until
	// the gateway has given Redis back its revocations: a few tries.
	carolToken := g.person(t, "127.0.0.4").mintToken(`{"roomName":"standup","name":"Carol"}`)
	var carol *signal.Client
	if !eventually(10*time.Second, func() bool {
		cl, err := g.person(t, "127.0.0.4").join("standup", joinOpts{token: carolToken, name: "Carol"})
		var refused *signal.ErrRefused
		if errors.As(err, &refused) && refused.Status == http.StatusServiceUnavailable {
			return false
		}
		if err != nil {
			t.Fatalf("Carol joining after Redis emptied: %v", err)
		}
		carol = cl
		return true
	}) {
		t.Fatal("Carol was not admitted within 10 s of Redis emptying")
	}
	var in []string
	for _, p := range carol.Welcome.Peers {
		in = append(in, p.ID)
	}
	if !slices.Contains(in, ada.ID()) || !slices.Contains(in, bob.ID()) {
		t.Fatalf("Carol found %v in the room, want Ada %s and Bob %s", in, ada.ID(), bob.ID())
	}
	if now := c.pinnedNode(t, "standup"); now != holder {
		t.Fatalf("the room is pinned to %s now, was on %s", now.id, holder.id)
	}
	if m := metric(t, holder.Instance, "roomgate_peers"); m != 3 {
		t.Fatalf("peers on the holder after Carol joined: %v", m)
	}
	rc := receive(carol)
	if !rc.hears(20, ada.ID(), bob.ID()) {
		t.Fatal("Carol does not hear Ada and Bob")
	}
	select {
	case <-ada.Done():
		t.Fatalf("Ada's signalling ended, bye %+v", ada.Bye())
	case <-bob.Done():
		t.Fatalf("Bob's signalling ended, bye %+v", bob.Bye())
	default:
	}
}
