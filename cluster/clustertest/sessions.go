package clustertest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/roomgate/roomgate/cluster"
)

// Host sessions, revocations, login limits and where hosts are.

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
	if got.IdP != nil {
		t.Fatalf("a password login read back with an identity provider's: %+v", got.IdP)
	}

	// A login through an identity provider keeps what the provider said,
	// for a back-channel logout by subject or session and for its rooms.
	idp := session("s3", "carol")
	idp.IdP = &cluster.IdPLogin{Issuer: "https://id.example.com", Subject: "248289761001", SID: "08a5019c", Rooms: []string{"standup"}}
	_, err = a.OpenSession(ctx, idp, 16)
	must(t, err)
	got, err = b.Session(ctx, "s3")
	must(t, err)
	f, err := b.Facts(ctx, cluster.FactsQuery{Room: "standup", Session: "s3"})
	must(t, err)
	for _, se := range []*cluster.Session{&got, f.Session} {
		if se == nil || !reflect.DeepEqual(se.IdP, idp.IdP) {
			t.Fatalf("an identity provider's login read back as %+v, stored %+v", se, idp.IdP)
		}
	}

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
