// Package clustertest is the conformance suite for cluster.Store: every
// implementation runs it, so the in-memory default and Redis keep the same
// contract.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roomgate/roomgate/cluster"
)

// Pair returns two handles on one fresh, empty backend, as two gateways
// would hold them (for an in-memory store, the same one twice).
type Pair func(t *testing.T) (a, b cluster.Store)

// Run runs the whole contract against the stores newPair makes.
func Run(t *testing.T, newPair Pair) {
	tests := []struct {
		name string
		f    func(*testing.T, cluster.Store, cluster.Store)
	}{
		{"Sessions", testSessions},
		{"IdPSessions", testIdPSessions},
		{"SessionsPerUser", testSessionsPerUser},
		{"SessionExpired", testSessionExpired},
		{"EndedSessionStaysEnded", testEndedSessionStaysEnded},
		{"Incarnation", testIncarnation},
		{"ExpiredSessionKeepsItsHost", testExpiredSessionKeepsItsHost},
		{"Revocation", testRevocation},
		{"Rooms", testRooms},
		{"RoomExpiry", testRoomExpiry},
		{"LoginLimits", testLoginLimits},
		{"Presence", testPresence},
		{"EventsInOrder", testEventsInOrder},
		{"WatchStops", testWatchStops},
		{"Pinning", testPinning},
		{"NodeLeaseLapses", testNodeLeaseLapses},
		{"DrainingNodeKeepsItsRoomsTakesNoNew", testDrainingNodeKeepsItsRoomsTakesNoNew},
		{"NodeGivesBackPinsOfAnEmptiedStore", testNodeGivesBackPinsOfAnEmptiedStore},
		{"ConcurrentFirstJoinsAgree", testConcurrentFirstJoinsAgree},
		{"RoomLockAndEjectDeadline", testRoomLockAndEjectDeadline},
		{"PlacesCountAcrossHolders", testPlacesCountAcrossHolders},
		{"InvitationUses", testInvitationUses},
		{"Bans", testBans},
		{"WebhookQueues", testWebhookQueues},
		{"PlacesOfADeadHolderStopCounting", testPlacesOfADeadHolderStopCounting},
		{"FactsAgreeWithSingleCalls", testFactsAgreeWithSingleCalls},
		{"EnterPinsAndTakesAtOnce", testEnterPinsAndTakesAtOnce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t)
			tc.f(t, a, b)
		})
	}
}

// events collects what a Store's watcher hears.
type events struct {
	mu   sync.Mutex
	got  []cluster.Event
	more chan struct{}
}

func watch(t *testing.T, s cluster.Store) *events {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &events{more: make(chan struct{}, 1)}
	s.Watch(ctx, func(ev cluster.Event) {
		if ev.Kind == cluster.EventResync {
			return
		}
		e.mu.Lock()
		e.got = append(e.got, ev)
		e.mu.Unlock()
		select {
		case e.more <- struct{}{}:
		default:
		}
	})
	return e
}

// wait returns the first n events, failing the test if they do not come
// within a few seconds.
func (e *events) wait(t *testing.T, n int) []cluster.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		e.mu.Lock()
		if len(e.got) >= n {
			out := slices.Clone(e.got[:n])
			e.mu.Unlock()
			return out
		}
		e.mu.Unlock()
		select {
		case <-e.more:
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("waited for %d events, got %v", n, e.got)
		}
	}
}

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func session(id, user string) cluster.Session {
	return cluster.Session{ID: id, User: user, Addr: netip.MustParseAddr("192.0.2.7"), Expires: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
}

func testRooms(t *testing.T, a, b cluster.Store) {
	ev := watch(t, b)
	must(t, a.CreateRoom(ctx, "standup", []byte(`{"v":1}`), time.Time{}))
	wantErr(t, b.CreateRoom(ctx, "standup", []byte(`{"v":2}`), time.Time{}), cluster.ErrExists, "creating it twice")
	got, err := b.Room(ctx, "standup")
	must(t, err)
	if string(got) != `{"v":1}` {
		t.Fatalf("room read back as %s", got)
	}
	must(t, b.ReplaceRoom(ctx, "standup", []byte(`{"v":3}`), time.Time{}))
	got, err = a.Room(ctx, "standup")
	must(t, err)
	if string(got) != `{"v":3}` {
		t.Fatalf("replaced room read back as %s", got)
	}
	wantErr(t, a.ReplaceRoom(ctx, "retro", nil, time.Time{}), cluster.ErrNotFound, "replacing a room nobody made")
	must(t, a.CreateRoom(ctx, "retro", []byte(`{"v":4}`), time.Now().Add(time.Hour)))
	list, err := b.Rooms(ctx)
	must(t, err)
	strs := []string{}
	for _, r := range list {
		strs = append(strs, string(r))
	}
	slices.Sort(strs)
	if !slices.Equal(strs, []string{`{"v":3}`, `{"v":4}`}) {
		t.Fatalf("rooms: %v", strs)
	}
	must(t, a.DeleteRoom(ctx, "standup"))
	_, err = b.Room(ctx, "standup")
	wantErr(t, err, cluster.ErrNotFound, "a deleted room")
	wantErr(t, b.DeleteRoom(ctx, "standup"), cluster.ErrNotFound, "deleting it twice")
	// The name is free again.
	must(t, b.CreateRoom(ctx, "standup", []byte(`{"v":5}`), time.Time{}))
	got2 := ev.wait(t, 2)
	if got2[0].Kind != cluster.EventRoomChanged || got2[0].Room != "standup" ||
		got2[1].Kind != cluster.EventRoomDeleted || got2[1].Room != "standup" {
		t.Fatalf("events %+v", got2)
	}
}

func testRoomExpiry(t *testing.T, a, b cluster.Store) {
	must(t, a.CreateRoom(ctx, "brief", []byte(`{}`), time.Now().Add(50*time.Millisecond)))
	if _, err := b.Room(ctx, "brief"); err != nil {
		t.Fatalf("a room before its expiry: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // the room's own lifetime, not a condition
	_, err := b.Room(ctx, "brief")
	wantErr(t, err, cluster.ErrNotFound, "an expired room")
	list, err := b.Rooms(ctx)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("an expired room is listed: %s", list)
	}
	must(t, b.CreateRoom(ctx, "brief", []byte(`{}`), time.Time{}))
}

func testEventsInOrder(t *testing.T, a, b cluster.Store) {
	must(t, a.Restored(ctx))
	ev := watch(t, a)
	evB := watch(t, b)
	const n = 50
	for i := range n {
		must(t, b.Revoke(ctx, fmt.Sprint("t", i), time.Now().Add(time.Hour)))
	}
	for _, got := range [][]cluster.Event{ev.wait(t, n), evB.wait(t, n)} {
		for i, e := range got {
			if e.Kind != cluster.EventRevoked || e.ID != fmt.Sprint("t", i) {
				t.Fatalf("event %d: %+v", i, e)
			}
		}
	}
}

func testWatchStops(t *testing.T, a, b cluster.Store) {
	c, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	heard := 0
	a.Watch(c, func(e cluster.Event) {
		if e.Kind == cluster.EventRevoked {
			mu.Lock()
			heard++
			mu.Unlock()
		}
	})
	ev := watch(t, a)
	cancel()
	// The watcher that stays hears the revocation; by then the cancelled
	// one would have heard it too.
	must(t, b.Revoke(ctx, "t1", time.Now().Add(time.Hour)))
	ev.wait(t, 1)
	must(t, b.Revoke(ctx, "t2", time.Now().Add(time.Hour)))
	ev.wait(t, 2)
	mu.Lock()
	defer mu.Unlock()
	if heard > 1 {
		t.Fatalf("a cancelled watcher heard %d events", heard)
	}
}

func testWebhookQueues(t *testing.T, a, b cluster.Store) {
	for i := range 3 {
		must(t, a.WebhookPush(ctx, "r1|standup", []byte(fmt.Sprint("s", i))))
	}
	must(t, b.WebhookPush(ctx, "r1|retro", []byte("x0")))
	qs, err := b.WebhookQueues(ctx)
	must(t, err)
	slices.Sort(qs)
	if !slices.Equal(qs, []string{"r1|retro", "r1|standup"}) {
		t.Fatalf("queues %v", qs)
	}
	// One gateway at a time delivers a queue.
	if ok, err := a.WebhookHold(ctx, "r1|standup", "g1", time.Minute); err != nil || !ok {
		t.Fatalf("g1 holding a free queue: %v %v", ok, err)
	}
	if ok, _ := b.WebhookHold(ctx, "r1|standup", "g2", time.Minute); ok {
		t.Fatal("g2 took a queue g1 holds")
	}
	if ok, _ := a.WebhookHold(ctx, "r1|standup", "g1", time.Minute); !ok {
		t.Fatal("g1 could not keep its queue")
	}
	head, err := b.WebhookHead(ctx, "r1|standup")
	must(t, err)
	if string(head) != "s0" {
		t.Fatalf("head %s", head)
	}
	must(t, a.WebhookSetHead(ctx, "r1|standup", []byte("s0-tried")))
	all, err := b.WebhookAll(ctx)
	must(t, err)
	var got []string
	for _, it := range all["r1|standup"] {
		got = append(got, string(it))
	}
	if !slices.Equal(got, []string{"s0-tried", "s1", "s2"}) {
		t.Fatalf("queue in order: %v", got)
	}
	for _, want := range []string{"s0-tried", "s1", "s2"} {
		head, err := a.WebhookHead(ctx, "r1|standup")
		must(t, err)
		if string(head) != want {
			t.Fatalf("head %s, want %s", head, want)
		}
		must(t, b.WebhookPop(ctx, "r1|standup"))
	}
	_, err = a.WebhookHead(ctx, "r1|standup")
	wantErr(t, err, cluster.ErrNotFound, "an emptied queue's head")
	if qs, _ := a.WebhookQueues(ctx); !slices.Equal(qs, []string{"r1|retro"}) {
		t.Fatalf("queues after one emptied: %v", qs)
	}
	// An emptied queue is free for anyone.
	must(t, b.WebhookPush(ctx, "r1|standup", []byte("s3")))
	if ok, _ := b.WebhookHold(ctx, "r1|standup", "g2", time.Minute); !ok {
		t.Fatal("g2 could not take a queue g1 had emptied")
	}
}
