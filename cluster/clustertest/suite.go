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

func testSessions(t *testing.T, a, b cluster.Store) {
	ev := watch(t, a)
	s := session("s1", "alice")
	ended, err := a.OpenSession(ctx, s, 16)
	must(t, err)
	if len(ended) != 0 {
		t.Fatalf("a first login ended %v", ended)
	}
	got, err := b.Session(ctx, "s1")
	must(t, err)
	if got.User != "alice" || got.Addr != s.Addr || !got.Expires.Equal(s.Expires) {
		t.Fatalf("session read back as %+v, stored %+v", got, s)
	}
	_, err = b.Session(ctx, "s2")
	wantErr(t, err, cluster.ErrNotFound, "an unknown session")

	must(t, b.EndSession(ctx, "s1", "logged out"))
	_, err = a.Session(ctx, "s1")
	wantErr(t, err, cluster.ErrNotFound, "an ended session")
	wantErr(t, b.EndSession(ctx, "s1", "again"), cluster.ErrNotFound, "ending it twice")
	if e := ev.wait(t, 1)[0]; e.Kind != cluster.EventSessionEnded || e.ID != "s1" || e.Reason != "logged out" || !e.Until.Equal(s.Expires) {
		t.Fatalf("event %+v, want session_ended of s1 until %v", e, s.Expires)
	}
}

// A session that ended stays among the revocations until its login would
// have expired: nobody can open it again, the gateway restoring the
// sessions of a store that lost its data included.
func testEndedSessionStaysEnded(t *testing.T, a, b cluster.Store) {
	ev := watch(t, b)
	must(t, a.Restored(ctx))
	s := session("s1", "alice")
	_, err := a.OpenSession(ctx, s, 2)
	must(t, err)
	must(t, a.EndSession(ctx, "s1", "logged out"))
	if r, err := b.Revoked(ctx, "s1"); err != nil || !r {
		t.Fatalf("an ended session's id: revoked %v, %v", r, err)
	}
	_, err = b.OpenSession(ctx, s, 2)
	wantErr(t, err, cluster.ErrRevoked, "opening an ended session again")
	if _, err := a.Session(ctx, "s1"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("the ended session is back: %v", err)
	}
	// One replaced by a newer login too, with its expiry in the event.
	for _, id := range []string{"s2", "s3", "s4"} {
		_, err := a.OpenSession(ctx, session(id, "alice"), 2)
		must(t, err)
	}
	got := ev.wait(t, 2)
	if e := got[1]; e.Kind != cluster.EventSessionEnded || e.ID != "s2" || e.Until.IsZero() {
		t.Fatalf("event %+v, want s2 replaced, with its expiry", e)
	}
	if r, err := b.Revoked(ctx, "s2"); err != nil || !r {
		t.Fatalf("a replaced session's id: revoked %v, %v", r, err)
	}
	// An expired session that ends leaves nothing to keep.
	old := session("old", "bob")
	old.Expires = time.Now().Add(-time.Second).Truncate(time.Millisecond)
	_, err = a.OpenSession(ctx, old, 2)
	must(t, err)
	if r, err := b.Revoked(ctx, "old"); err != nil || r {
		t.Fatalf("an expired session's id: revoked %v, %v", r, err)
	}
}

// Every process sees the same incarnation, and it does not change while
// the store keeps its data.
func testIncarnation(t *testing.T, a, b cluster.Store) {
	x, err := a.Incarnation(ctx)
	must(t, err)
	y, err := b.Incarnation(ctx)
	must(t, err)
	z, err := a.Incarnation(ctx)
	must(t, err)
	if x == "" || x != y || x != z {
		t.Fatalf("incarnations %q, %q, %q: want one, the same", x, y, z)
	}
}

func testSessionsPerUser(t *testing.T, a, b cluster.Store) {
	ev := watch(t, b)
	for i := range 3 {
		ended, err := a.OpenSession(ctx, session(fmt.Sprint("s", i), "alice"), 2)
		must(t, err)
		if want := i == 2; (len(ended) == 1 && ended[0] == "s0") != want || len(ended) > 1 {
			t.Fatalf("login %d ended %v", i, ended)
		}
	}
	_, err := b.OpenSession(ctx, session("x", "bob"), 2)
	must(t, err)
	_, err = b.Session(ctx, "s0")
	wantErr(t, err, cluster.ErrNotFound, "the oldest of three logins with room for two")
	for _, id := range []string{"s1", "s2", "x"} {
		if _, err := b.Session(ctx, id); err != nil {
			t.Fatalf("session %s: %v", id, err)
		}
	}
	if e := ev.wait(t, 1)[0]; e.Kind != cluster.EventSessionEnded || e.ID != "s0" {
		t.Fatalf("event %+v", e)
	}
}

func testSessionExpired(t *testing.T, a, b cluster.Store) {
	s := session("old", "alice")
	s.Expires = time.Now().Add(-time.Second)
	_, err := a.OpenSession(ctx, s, 16)
	must(t, err)
	_, err = b.Session(ctx, "old")
	wantErr(t, err, cluster.ErrNotFound, "an expired session")
}

func testRevocation(t *testing.T, a, b cluster.Store) {
	ev := watch(t, b)
	must(t, a.Restored(ctx))
	if r, err := b.Revoked(ctx, "t1"); err != nil || r {
		t.Fatalf("before revocation: %v %v", r, err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	must(t, a.Revoke(ctx, "t1", exp))
	if r, err := b.Revoked(ctx, "t1"); err != nil || !r {
		t.Fatalf("after revocation: %v %v", r, err)
	}
	if e := ev.wait(t, 1)[0]; e.Kind != cluster.EventRevoked || e.ID != "t1" || !e.Until.Equal(exp) {
		t.Fatalf("event %+v", e)
	}
	// An expired token works nowhere already: nothing to keep.
	must(t, a.Revoke(ctx, "t2", time.Now().Add(-time.Second)))
	if r, err := b.Revoked(ctx, "t2"); err != nil || r {
		t.Fatalf("an expired token: %v %v", r, err)
	}
	if r, err := b.Revoked(ctx, "t3"); err != nil || r {
		t.Fatalf("another token: %v %v", r, err)
	}
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

func testLoginLimits(t *testing.T, a, b cluster.Store) {
	addr := cluster.Bucket{Key: "addr:192.0.2.7", Burst: 10, Refill: 6 * time.Second}
	user := cluster.Bucket{Key: "user:alice", Burst: 50, Refill: time.Second}
	for i := range addr.Burst {
		s := a
		if i%2 == 1 {
			s = b
		}
		wait, err := s.LoginWait(ctx, addr, user)
		must(t, err)
		if wait != 0 {
			t.Fatalf("failure %d: already told to wait %v", i, wait)
		}
		must(t, s.LoginFailed(ctx, addr, user))
	}
	wait, err := a.LoginWait(ctx, addr)
	must(t, err)
	if wait <= 0 || wait > addr.Refill {
		t.Fatalf("after %d failures split over two handles: wait %v", addr.Burst, wait)
	}
	// Each bucket keeps its own size: the user's holds 50.
	if wait, _ := b.LoginWait(ctx, user); wait != 0 {
		t.Fatalf("a bucket of 50 full after 10: wait %v", wait)
	}
	other := cluster.Bucket{Key: "addr:192.0.2.8", Burst: 10, Refill: 6 * time.Second}
	if wait, _ := b.LoginWait(ctx, other); wait != 0 {
		t.Fatalf("other keys must not wait: %v", wait)
	}
	must(t, b.LoginSucceeded(ctx, addr.Key))
	if wait, _ := a.LoginWait(ctx, addr); wait != 0 {
		t.Fatalf("a success forgets the bucket's failures: wait %v", wait)
	}

	if k, err := a.KnownLogin(ctx, "alice", "192.0.2.7"); err != nil || k {
		t.Fatalf("known before any login: %v %v", k, err)
	}
	must(t, b.RememberLogin(ctx, "alice", "192.0.2.7"))
	if k, err := a.KnownLogin(ctx, "alice", "192.0.2.7"); err != nil || !k {
		t.Fatalf("not known after a login: %v %v", k, err)
	}
	if k, _ := a.KnownLogin(ctx, "bob", "192.0.2.7"); k {
		t.Fatal("known for another user")
	}
	for i := range cluster.MaxKnownLogins {
		must(t, b.RememberLogin(ctx, "alice", fmt.Sprint("10.0.0.", i)))
	}
	if k, _ := a.KnownLogin(ctx, "alice", "192.0.2.7"); k {
		t.Fatal("more addresses than the bound are remembered")
	}
}

func testPresence(t *testing.T, a, b cluster.Store) {
	wantErr(t, a.HostPresent(ctx, "standup", "nobody", "g1", time.Minute), cluster.ErrNotFound, "presence of no session")
	_, err := a.OpenSession(ctx, session("s1", "alice"), 16)
	must(t, err)
	if h, _ := b.Hosted(ctx, "standup"); h {
		t.Fatal("hosted before anyone came")
	}
	must(t, a.HostPresent(ctx, "standup", "s1", "g1", time.Minute))
	must(t, b.HostPresent(ctx, "standup", "s1", "g2", time.Minute))
	for _, s := range []cluster.Store{a, b} {
		if h, err := s.Hosted(ctx, "standup"); err != nil || !h {
			t.Fatalf("hosted: %v %v", h, err)
		}
		if p, err := s.SessionPresent(ctx, "s1"); err != nil || !p {
			t.Fatalf("session present: %v %v", p, err)
		}
		if h, _ := s.Hosted(ctx, "retro"); h {
			t.Fatal("another room is hosted")
		}
	}
	must(t, a.HostGone(ctx, "standup", "s1", "g1"))
	if h, _ := a.Hosted(ctx, "standup"); !h {
		t.Fatal("one holder leaving must not forget the other's")
	}
	must(t, b.HostGone(ctx, "standup", "s1", "g2"))
	if h, _ := a.Hosted(ctx, "standup"); h {
		t.Fatal("hosted after every holder let go")
	}
	if p, _ := a.SessionPresent(ctx, "s1"); p {
		t.Fatal("session present after every holder let go")
	}

	// A lease nobody renews lapses (a gateway that died).
	must(t, a.HostPresent(ctx, "standup", "s1", "g1", 30*time.Millisecond))
	time.Sleep(60 * time.Millisecond) // the lease's own lifetime, not a condition
	if h, _ := b.Hosted(ctx, "standup"); h {
		t.Fatal("a lapsed lease still hosts the room")
	}
	// Ending the session ends its presence.
	must(t, a.HostPresent(ctx, "standup", "s1", "g1", time.Minute))
	must(t, b.EndSession(ctx, "s1", "logged out"))
	if h, _ := a.Hosted(ctx, "standup"); h {
		t.Fatal("an ended session still hosts the room")
	}
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

func testExpiredSessionKeepsItsHost(t *testing.T, a, b cluster.Store) {
	s := session("s1", "alice")
	s.Expires = time.Now().Add(50 * time.Millisecond)
	_, err := a.OpenSession(ctx, s, 1)
	must(t, err)
	must(t, a.HostPresent(ctx, "standup", "s1", "g1", time.Minute))
	time.Sleep(100 * time.Millisecond) // the login's own lifetime, not a condition
	_, err = b.Session(ctx, "s1")
	wantErr(t, err, cluster.ErrNotFound, "an expired session")
	// A new login does not count the expired one, and the host who is
	// still in the room keeps it open until they leave.
	ended, err := b.OpenSession(ctx, session("s2", "alice"), 1)
	must(t, err)
	if len(ended) != 0 {
		t.Fatalf("a new login ended the expired one: %v", ended)
	}
	must(t, b.HostPresent(ctx, "standup", "s1", "g1", time.Minute))
	if h, _ := b.Hosted(ctx, "standup"); !h {
		t.Fatal("the expired login's host no longer holds the room")
	}
	ev := watch(t, a)
	must(t, b.EndSession(ctx, "s1", "login expired"))
	if h, _ := a.Hosted(ctx, "standup"); h {
		t.Fatal("hosted after the expired session ended")
	}
	if e := ev.wait(t, 1)[0]; e.Kind != cluster.EventSessionEnded || e.ID != "s1" {
		t.Fatalf("event %+v", e)
	}
}

func node(id string) cluster.Node {
	return cluster.Node{ID: id, Signal: "10.0.0.1:7880", Region: "eu", TURN: []string{"turn:" + id + ".example.com:3478"}}
}

func testPinning(t *testing.T, a, b cluster.Store) {
	if _, err := a.Pin(ctx, "standup", []string{"n1"}); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("a pin with no live node: %v", err)
	}
	for _, id := range []string{"n1", "n2"} {
		lost, err := a.RegisterNode(ctx, node(id), time.Minute, nil)
		must(t, err)
		if len(lost) != 0 {
			t.Fatalf("a node holding nothing lost %v", lost)
		}
	}
	nodes, err := b.Nodes(ctx)
	must(t, err)
	if len(nodes) != 2 || nodes[0].ID != "n1" || nodes[1].TURN[0] != "turn:n2.example.com:3478" {
		t.Fatalf("nodes %+v", nodes)
	}
	p, err := b.Pin(ctx, "standup", []string{"gone", "n2", "n1"})
	must(t, err)
	if p.Node.ID != "n2" || p.Node.Signal != "10.0.0.1:7880" || p.Epoch <= 0 {
		t.Fatalf("first pin %+v", p)
	}
	// A live pin wins over any choice.
	again, err := a.Pin(ctx, "standup", []string{"n1"})
	must(t, err)
	if again.Node.ID != p.Node.ID || again.Epoch != p.Epoch {
		t.Fatalf("second pin %+v, first %+v", again, p)
	}
	// n2 keeps its room while it holds it at that epoch, and learns that a
	// room pinned to another node is not its own…
	retro, err := b.Pin(ctx, "retro", []string{"n1"})
	must(t, err)
	lost, err := a.RegisterNode(ctx, node("n2"), time.Minute, map[string]int64{"standup": p.Epoch, "retro": retro.Epoch})
	must(t, err)
	if !slices.Equal(lost, []string{"retro"}) {
		t.Fatalf("n2 lost %v", lost)
	}
	// …and loses it when it leaves: the room moves, under a larger epoch.
	must(t, b.LeaveNode(ctx, "n2"))
	moved, err := a.Pin(ctx, "standup", []string{"n2", "n1"})
	must(t, err)
	if moved.Node.ID != "n1" || moved.Epoch <= p.Epoch || !moved.Moved || p.Moved || again.Moved {
		t.Fatalf("after n2 left: %+v (was %+v)", moved, p)
	}
	lost, err = b.RegisterNode(ctx, node("n2"), time.Minute, map[string]int64{"standup": p.Epoch})
	must(t, err)
	if !slices.Equal(lost, []string{"standup"}) {
		t.Fatalf("n2 came back and did not learn it lost standup: %v", lost)
	}
	// The emptied room is unpinned only by its holder at its epoch.
	must(t, a.Unpin(ctx, "standup", "n1", p.Epoch))
	must(t, a.Unpin(ctx, "standup", "n2", moved.Epoch))
	if p, _ := b.Pin(ctx, "standup", []string{"n2"}); p.Node.ID != "n1" {
		t.Fatalf("a wrong unpin moved the room to %+v", p)
	}
	must(t, a.Unpin(ctx, "standup", "n1", moved.Epoch))
	if p, _ := b.Pin(ctx, "standup", []string{"n2"}); p.Node.ID != "n2" || p.Epoch <= moved.Epoch {
		t.Fatalf("after unpinning, the room went to %+v", p)
	}
}

// A store that came back empty (here: a fresh one) has no pins: a node
// serving rooms gives them back at its next renewal, under the epochs it
// holds, instead of taking them as moved and ending every call.
func testNodeGivesBackPinsOfAnEmptiedStore(t *testing.T, a, b cluster.Store) {
	_, err := a.RegisterNode(ctx, node("n2"), time.Minute, nil)
	must(t, err)
	retro, err := b.Pin(ctx, "retro", []string{"n2"})
	must(t, err)
	// The lost store counted epochs from a clock ahead of this one's: the
	// epoch given back, not the clock, must bound the next placement.
	held := time.Now().Add(time.Hour).UnixMicro()
	lost, err := a.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"standup": held, "retro": retro.Epoch})
	must(t, err)
	if !slices.Equal(lost, []string{"retro"}) {
		t.Fatalf("n1 lost %v, want only retro (pinned to n2)", lost)
	}
	p, err := b.Pin(ctx, "standup", []string{"n2", "n1"})
	must(t, err)
	if p.Node.ID != "n1" || p.Epoch != held || p.Moved {
		t.Fatalf("the given-back room is pinned %+v, want n1 at %d", p, held)
	}
	if r, _ := b.Pin(ctx, "retro", []string{"n1"}); r.Node.ID != "n2" || r.Epoch != retro.Epoch {
		t.Fatalf("n1 took retro from n2: %+v", r)
	}
	// Its next renewals keep it.
	lost, err = b.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"standup": held})
	must(t, err)
	if len(lost) != 0 {
		t.Fatalf("n1 lost %v at its next renewal", lost)
	}
	// When n1 dies the room moves, under a larger epoch than it gave back.
	must(t, a.LeaveNode(ctx, "n1"))
	moved, err := b.Pin(ctx, "standup", []string{"n1", "n2"})
	must(t, err)
	if moved.Node.ID != "n2" || moved.Epoch <= held || !moved.Moved {
		t.Fatalf("after n1 died: %+v, given back at %d", moved, held)
	}
	// n1, back, learns the room moved: a newer placement is not given back.
	lost, err = a.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"standup": held})
	must(t, err)
	if !slices.Equal(lost, []string{"standup"}) {
		t.Fatalf("n1 came back and did not learn it lost standup: %v", lost)
	}
	if again, _ := b.Pin(ctx, "standup", []string{"n1"}); again.Node.ID != "n2" || again.Epoch != moved.Epoch {
		t.Fatalf("n1's renewal took the room back: %+v", again)
	}
	// The holder unpins a given-back room at its epoch, as any other.
	lost, err = a.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"retro2": 42})
	must(t, err)
	if len(lost) != 0 {
		t.Fatalf("n1 lost %v", lost)
	}
	must(t, a.Unpin(ctx, "retro2", "n1", 42))
	if p, _ := b.Pin(ctx, "retro2", []string{"n2"}); p.Node.ID != "n2" {
		t.Fatalf("after unpinning the given-back room it went to %+v", p)
	}
}

func testNodeLeaseLapses(t *testing.T, a, b cluster.Store) {
	_, err := a.RegisterNode(ctx, node("brief"), 30*time.Millisecond, nil)
	must(t, err)
	_, err = a.RegisterNode(ctx, node("n1"), time.Minute, nil)
	must(t, err)
	time.Sleep(60 * time.Millisecond) // the lease's own lifetime, not a condition
	nodes, err := b.Nodes(ctx)
	must(t, err)
	if len(nodes) != 1 || nodes[0].ID != "n1" {
		t.Fatalf("nodes after a lease lapsed: %+v", nodes)
	}
	p, err := b.Pin(ctx, "standup", []string{"brief", "n1"})
	must(t, err)
	if p.Node.ID != "n1" {
		t.Fatalf("pinned to %s", p.Node.ID)
	}
}

func testConcurrentFirstJoinsAgree(t *testing.T, a, b cluster.Store) {
	for _, id := range []string{"n1", "n2", "n3"} {
		_, err := a.RegisterNode(ctx, node(id), time.Minute, nil)
		must(t, err)
	}
	const n = 50
	pins := make([]cluster.Pin, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := a
			if i%2 == 1 {
				s = b
			}
			// Each asks for a different node first, as gateways with
			// different views of the load would.
			choices := []string{"n1", "n2", "n3"}
			choices[0], choices[i%3] = choices[i%3], choices[0]
			pins[i], errs[i] = s.Pin(ctx, "standup", choices)
		})
	}
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if pins[i].Node.ID != pins[0].Node.ID || pins[i].Epoch != pins[0].Epoch {
			t.Fatalf("join %d landed on %s@%d, join 0 on %s@%d", i, pins[i].Node.ID, pins[i].Epoch, pins[0].Node.ID, pins[0].Epoch)
		}
	}
}

func testRoomLockAndEjectDeadline(t *testing.T, a, b cluster.Store) {
	if st, err := b.RoomState(ctx, "standup"); err != nil || st != (cluster.RoomState{}) {
		t.Fatalf("a state before anyone set one: %+v %v", st, err)
	}
	must(t, a.SetRoomState(ctx, "standup", cluster.RoomState{Locked: true}))
	if st, err := b.RoomState(ctx, "standup"); err != nil || !st.Locked {
		t.Fatalf("the lock through the other handle: %+v %v", st, err)
	}
	ended := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	must(t, b.SetRoomState(ctx, "standup", cluster.RoomState{EndedUntil: ended}))
	if st, _ := a.RoomState(ctx, "standup"); st.Locked || !st.EndedUntil.Equal(ended) {
		t.Fatalf("after ending: %+v", st)
	}
	must(t, b.SetRoomState(ctx, "standup", cluster.RoomState{}))
	if st, _ := a.RoomState(ctx, "standup"); st != (cluster.RoomState{}) {
		t.Fatalf("a forgotten state: %+v", st)
	}

	// A token with a minute in rooms: two connections at once share one
	// clock; the time away does not count.
	exp := time.Now().Add(time.Hour)
	clock := cluster.TokenJoin{ID: "tok", Expires: exp, EjectAfter: time.Minute}
	j1, err := a.TokenJoin(ctx, clock)
	must(t, err)
	if left := time.Until(j1.Deadline); left < 59*time.Second || left > time.Minute {
		t.Fatalf("first join: %v left", left)
	}
	j2, err := b.TokenJoin(ctx, clock)
	must(t, err)
	if !j2.Deadline.Equal(j1.Deadline) {
		t.Fatalf("a second connection at once got its own clock: %v, %v", j2.Deadline, j1.Deadline)
	}
	must(t, a.TokenLeave(ctx, "tok", false))
	must(t, b.TokenLeave(ctx, "tok", false))
	time.Sleep(100 * time.Millisecond) // time away, not a condition
	j3, err := a.TokenJoin(ctx, clock)
	must(t, err)
	if moved := j3.Deadline.Sub(j1.Deadline); moved < 80*time.Millisecond || moved > 2*time.Second {
		t.Fatalf("coming back after 100 ms away moved the deadline by %v", moved)
	}
	must(t, a.TokenLeave(ctx, "tok", false))
}

func testInvitationUses(t *testing.T, a, b cluster.Store) {
	exp := time.Now().Add(time.Hour)
	once := cluster.TokenJoin{ID: "link", Expires: exp, MaxUses: 1}
	// Fifty people open a single-use link at the same moment: one gets in.
	const n = 50
	var wg sync.WaitGroup
	got := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			s := a
			if i%2 == 1 {
				s = b
			}
			_, err := s.TokenJoin(ctx, once)
			got <- err
		})
	}
	wg.Wait()
	close(got)
	in := 0
	for err := range got {
		switch {
		case err == nil:
			in++
		case !errors.Is(err, cluster.ErrUsedUp):
			t.Fatal(err)
		}
	}
	if in != 1 {
		t.Fatalf("%d of %d got in with a single-use link", in, n)
	}
	// Whoever got in comes back (a rejoin pass) within the window: no use.
	must(t, a.TokenLeave(ctx, "link", false))
	back := once
	back.Reconnect = true
	if _, err := b.TokenJoin(ctx, back); err != nil {
		t.Fatalf("the person who used the link, coming back: %v", err)
	}
	// Someone else with the link is still out.
	if _, err := b.TokenJoin(ctx, once); !errors.Is(err, cluster.ErrUsedUp) {
		t.Fatalf("a second person with a used link: %v", err)
	}
	if used, err := a.TokenUses(ctx, "link"); err != nil || used != 1 {
		t.Fatalf("uses: %d %v", used, err)
	}
	// A connection that never got in gives its use back.
	twice := cluster.TokenJoin{ID: "two", Expires: exp, MaxUses: 2}
	j, err := a.TokenJoin(ctx, twice)
	must(t, err)
	if j.UsesLeft != 1 {
		t.Fatalf("uses left after one: %d", j.UsesLeft)
	}
	must(t, a.TokenLeave(ctx, "two", true))
	if used, _ := b.TokenUses(ctx, "two"); used != 0 {
		t.Fatalf("a refunded use still counts: %d", used)
	}
}

func testPlacesCountAcrossHolders(t *testing.T, a, b cluster.Store) {
	must(t, a.RenewHolder(ctx, "g1", time.Minute))
	must(t, b.RenewHolder(ctx, "g2", time.Minute))
	addr := cluster.Place{Key: "addr:192.0.2.7", Limit: 3}
	room := cluster.Place{Key: "room:standup", Limit: 0}
	take := func(s cluster.Store, holder string, places ...cluster.Place) string {
		t.Helper()
		full, err := s.Take(ctx, holder, places)
		must(t, err)
		return full
	}
	for i, s := range []cluster.Store{a, b, a} {
		if full := take(s, []string{"g1", "g2", "g1"}[i], addr, room); full != "" {
			t.Fatalf("place %d: %s full", i, full)
		}
	}
	// The fourth, through either holder, finds the address full, and takes
	// nothing (the room's count is unchanged).
	if full := take(b, "g2", room, addr); full != addr.Key {
		t.Fatalf("the fourth place: full %q", full)
	}
	roomOf3 := cluster.Place{Key: room.Key, Limit: 3}
	if full := take(b, "g2", roomOf3); full != room.Key {
		t.Fatalf("the room holds %q places, not 3", full)
	}
	// Full looks without taking.
	roomOf4 := cluster.Place{Key: room.Key, Limit: 4}
	for range 2 {
		if full, err := a.Full(ctx, "g1", []cluster.Place{roomOf4}); err != nil || full != "" {
			t.Fatalf("Full of a room of 4 with 3 in: %q %v", full, err)
		}
	}
	if full, _ := a.Full(ctx, "g1", []cluster.Place{roomOf3}); full != room.Key {
		t.Fatal("Full of a full room says it has a place")
	}
	must(t, a.Give(ctx, "g1", []cluster.Place{addr, room}))
	if full := take(b, "g2", addr, room); full != "" {
		t.Fatalf("after one was given back: %s full", full)
	}
	if full := take(a, "g1", addr); full != addr.Key {
		t.Fatal("given back twice")
	}
	if _, ok := a.(*cluster.Memory); ok {
		return // one process keeps no places per holder
	}
	// g2's Give was lost to an outage: its own count of what it holds
	// puts it right.
	must(t, b.SetHolderPlaces(ctx, "g2", map[string]int{addr.Key: 0, room.Key: 1}))
	if full := take(a, "g1", addr); full != "" {
		t.Fatalf("after g2 set its true count: %s full", full)
	}
}

func testPlacesOfADeadHolderStopCounting(t *testing.T, a, b cluster.Store) {
	if _, ok := a.(*cluster.Memory); ok {
		t.Skip("in one process, no holder outlives the store")
	}
	must(t, a.RenewHolder(ctx, "dies", 30*time.Millisecond))
	must(t, b.RenewHolder(ctx, "lives", time.Minute))
	one := cluster.Place{Key: "addr:192.0.2.9", Limit: 1}
	if full, err := a.Take(ctx, "dies", []cluster.Place{one}); err != nil || full != "" {
		t.Fatalf("take: %q %v", full, err)
	}
	if full, _ := b.Take(ctx, "lives", []cluster.Place{one}); full != one.Key {
		t.Fatal("a live holder's place did not count")
	}
	time.Sleep(60 * time.Millisecond) // the holder's lease, not a condition
	if full, err := b.Take(ctx, "lives", []cluster.Place{one}); err != nil || full != "" {
		t.Fatalf("a dead holder's place still counts: %q %v", full, err)
	}
}

func testFactsAgreeWithSingleCalls(t *testing.T, a, b cluster.Store) {
	must(t, a.Restored(ctx))
	_, err := a.OpenSession(ctx, session("s1", "alice"), 16)
	must(t, err)
	must(t, a.HostPresent(ctx, "standup", "s1", "g1", time.Minute))
	must(t, a.CreateRoom(ctx, "standup", []byte(`{"v":1}`), time.Time{}))
	must(t, a.Revoke(ctx, "bad", time.Now().Add(time.Hour)))
	must(t, a.Revoke(ctx, "barred-pass", time.Now().Add(time.Hour)))
	for _, q := range []cluster.FactsQuery{
		{Room: "standup"},
		{Room: "retro"},
		{Room: "standup", Token: "bad", Rejoin: "barred-pass"},
		{Room: "standup", Token: "good", Rejoin: "good-pass"},
		{Room: "standup", Session: "s1", Hosted: true},
		{Room: "retro", Session: "nobody", Hosted: true},
	} {
		got, err := b.Facts(ctx, q)
		must(t, err)
		want, err := cluster.FactsFromSingleCalls(ctx, b, q)
		must(t, err)
		if string(got.Room) != string(want.Room) || got.Revoked != want.Revoked || got.Hosted != want.Hosted ||
			got.RejoinBarred != want.RejoinBarred || (got.Session == nil) != (want.Session == nil) ||
			(got.Session != nil && (got.Session.User != want.Session.User || got.Session.Addr != want.Session.Addr || !got.Session.Expires.Equal(want.Session.Expires))) {
			t.Fatalf("%+v: Facts %+v, single calls %+v", q, got, want)
		}
	}
	f, _ := b.Facts(ctx, cluster.FactsQuery{Room: "standup", Token: "bad", Session: "s1", Hosted: true, Rejoin: "barred-pass"})
	if string(f.Room) != `{"v":1}` || !f.Revoked || f.Session == nil || f.Session.User != "alice" || !f.Hosted || !f.RejoinBarred {
		t.Fatalf("every fact at once: %+v", f)
	}
}

func testEnterPinsAndTakesAtOnce(t *testing.T, a, b cluster.Store) {
	must(t, a.RenewHolder(ctx, "g1", time.Minute))
	must(t, b.RenewHolder(ctx, "g2", time.Minute))
	if _, err := a.Enter(ctx, "standup", []string{"n1"}, "g1", []cluster.Place{{Key: "room:standup"}}); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("with no live node: %v", err)
	}
	// Nothing was taken for nowhere to go.
	if full, _ := b.Take(ctx, "g1", []cluster.Place{{Key: "room:standup", Limit: 1}}); full != "" {
		t.Fatal("a place was kept for an admission with no node")
	}
	must(t, b.Give(ctx, "g1", []cluster.Place{{Key: "room:standup"}}))
	_, err := a.RegisterNode(ctx, node("n1"), time.Minute, nil)
	must(t, err)
	one := cluster.Place{Key: "room:standup", Limit: 1}
	e, err := b.Enter(ctx, "standup", []string{"n1"}, "g1", []cluster.Place{one})
	must(t, err)
	if e.Pin == nil || e.Pin.Node.ID != "n1" || e.Full != "" {
		t.Fatalf("enter: %+v", e)
	}
	e2, err := a.Enter(ctx, "standup", []string{"n1"}, "g2", []cluster.Place{one})
	must(t, err)
	if e2.Full != one.Key || e2.Pin == nil || e2.Pin.Epoch != e.Pin.Epoch {
		t.Fatalf("a second into a room for one: %+v", e2)
	}
	// Without choices, no pin.
	e3, err := a.Enter(ctx, "retro", nil, "g1", []cluster.Place{{Key: "room:retro"}})
	must(t, err)
	if e3.Pin != nil || e3.Full != "" {
		t.Fatalf("enter without pinning: %+v", e3)
	}
}

func testBans(t *testing.T, a, b cluster.Store) {
	ev := watch(t, b)
	banned := func(s cluster.Store, room string, ids ...string) *cluster.Ban {
		t.Helper()
		f, err := s.Facts(ctx, cluster.FactsQuery{Room: room, Identities: ids})
		must(t, err)
		return f.Banned
	}
	must(t, a.Ban(ctx, cluster.Ban{Identity: "xuid:u1", Room: "standup", By: "Ada", Created: time.Now()}))
	if bn := banned(b, "standup", "addr:192.0.2.7", "xuid:u1"); bn == nil || bn.Identity != "xuid:u1" || bn.By != "Ada" {
		t.Fatalf("a banned identity in its room: %+v", bn)
	}
	if bn := banned(b, "retro", "xuid:u1"); bn != nil {
		t.Fatalf("a ban for one room holds in another: %+v", bn)
	}
	must(t, b.Ban(ctx, cluster.Ban{Identity: "user:mallory", Until: time.Now().Add(time.Hour), Created: time.Now()}))
	if bn := banned(a, "retro", "user:mallory"); bn == nil {
		t.Fatal("a ban for every room does not hold in another room")
	}
	must(t, a.Ban(ctx, cluster.Ban{Identity: "addr:192.0.2.9", Until: time.Now().Add(-time.Second), Created: time.Now()}))
	if bn := banned(b, "standup", "addr:192.0.2.9"); bn != nil {
		t.Fatalf("a ban that ran out holds: %+v", bn)
	}
	list, err := b.Bans(ctx)
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("bans in force: %+v", list)
	}
	must(t, b.Unban(ctx, "xuid:u1", "standup"))
	wantErr(t, b.Unban(ctx, "xuid:u1", "standup"), cluster.ErrNotFound, "lifting a ban twice")
	if bn := banned(a, "standup", "xuid:u1"); bn != nil {
		t.Fatalf("a lifted ban holds: %+v", bn)
	}
	got := ev.wait(t, 2)
	if got[0].Kind != cluster.EventBanned || got[0].ID != "xuid:u1" || got[0].Room != "standup" || got[1].ID != "user:mallory" || got[1].Room != "" {
		t.Fatalf("events %+v", got)
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
