package clustertest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/roomgate/roomgate/cluster"
)

// What an admission reads and takes: places, invitations, facts, bans.

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
