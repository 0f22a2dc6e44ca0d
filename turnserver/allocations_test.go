package turnserver

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
)

func TestAuthTakesGoodCredentialsAndExpiredOnesOnlyForLiveAllocations(t *testing.T) {
	b, clock, shared := testBook(2)
	client := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 5000}
	other := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 5001}
	cred := accesstoken.MintTURN(shared, "peer1", clock.Now().Add(time.Minute))

	if _, ok := b.auth(cred.Username, "r", client); !ok {
		t.Fatal("a good credential was refused")
	}
	for name, c := range map[string][2]string{
		"another realm":       {cred.Username, "other"},
		"no expiry":           {"peer1", "r"},
		"no user":             {"123:", "r"},
		"expiry not a number": {"soon:peer1", "r"},
	} {
		if _, ok := b.auth(c[0], c[1], client); ok {
			t.Errorf("%s: accepted", name)
		}
	}

	b.created(client, nil, "udp", cred.Username, "r", nil, 0)
	clock.Advance(2 * time.Minute) // the credential has expired
	if _, ok := b.auth(cred.Username, "r", client); !ok {
		t.Fatal("the live allocation's refresh was refused after the credential expired")
	}
	if _, ok := b.auth(cred.Username, "r", other); ok {
		t.Fatal("an expired credential was taken from another client address")
	}
	clock.Advance(time.Hour) // past the grace
	if _, ok := b.auth(cred.Username, "r", client); ok {
		t.Fatal("an expired credential was taken past the grace")
	}

	// A new allocation with the expired credential is refused, even from
	// the live allocation's own address, over TCP or UDP: only its own
	// refreshes outlive the credential.
	tcpSame := &net.TCPAddr{IP: client.IP, Port: client.Port}
	if _, ok := b.auth(cred.Username, "r", tcpSame); ok {
		t.Fatal("an expired credential authenticated a TCP client on the live UDP allocation's port")
	}
	if b.quota(cred.Username, "r", client) {
		t.Fatal("a new allocation with an expired credential passed")
	}

	// The quota counts live allocations per user.
	old := cred
	cred = accesstoken.MintTURN(shared, "peer1", clock.Now().Add(time.Minute))
	if !b.quota(cred.Username, "r", other) {
		t.Fatal("the second allocation of a quota of 2 was refused")
	}
	b.created(other, nil, "udp", cred.Username, "r", nil, 0)
	if b.quota(cred.Username, "r", &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 5002}) {
		t.Fatal("a third allocation over a quota of 2")
	}
	b.deleted(client, nil, "udp", old.Username, "r")
	if !b.quota(cred.Username, "r", client) {
		t.Fatal("a deleted allocation did not free the quota")
	}
	if b.quota("not-a-rest-name", "r", client) {
		t.Fatal("a malformed username passed the quota")
	}
}

// Allocations being made count against the quota: a burst of simultaneous
// Allocate requests gets no more than the quota between them. A
// reservation whose allocation was never made lapses.
func TestQuotaCountsAllocationsBeingMade(t *testing.T) {
	b, clock, shared := testBook(3)
	cred := accesstoken.MintTURN(shared, "peer1", clock.Now().Add(time.Minute))
	src := func(port int) net.Addr { return &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: port} }

	var wg sync.WaitGroup
	var passed atomic.Int32
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b.quota(cred.Username, "r", src(6000+i)) {
				passed.Add(1)
			}
		}()
	}
	wg.Wait()
	if passed.Load() != 3 {
		t.Fatalf("%d of 20 simultaneous requests passed a quota of 3", passed.Load())
	}
	// Two are made; the third failed after the quota (no relay port, say).
	b.created(src(6000), nil, "udp", cred.Username, "r", nil, 0)
	b.created(src(6001), nil, "udp", cred.Username, "r", nil, 0)
	if b.quota(cred.Username, "r", src(6100)) {
		t.Fatal("a fourth passed while the failed one's reservation stood")
	}
	clock.Advance(reservationTTL)
	if !b.quota(cred.Username, "r", src(6100)) {
		t.Fatal("the failed allocation's reservation did not lapse")
	}
	b.created(src(6100), nil, "udp", cred.Username, "r", nil, 0)
	if b.quota(cred.Username, "r", src(6101)) {
		t.Fatal("a fourth live allocation over a quota of 3")
	}
	if other := accesstoken.MintTURN(shared, "peer2", clock.Now().Add(time.Minute)); !b.quota(other.Username, "r", src(6200)) {
		t.Fatal("another user was refused for peer1's quota")
	}
}

// testBook is a book for realm "r" with a grace of an hour, on a fake clock.
func testBook(quota int) (*book, *clockwork.FakeClock, string) {
	clock := clockwork.NewFakeClock()
	shared := accesstoken.TURNSharedSecret(accesstoken.GenerateSecret())
	var pol atomic.Pointer[peerPolicy]
	pol.Store(&peerPolicy{Policy: Policy{Quota: quota}})
	return newBook(shared, "r", time.Hour, clock, &pol, &counters{}), clock, shared
}

// Reservations of allocations that were never made do not pile up: once
// more users hold them than maxPendingUsers, the lapsed ones are swept.
func TestLapsedReservationsAreSwept(t *testing.T) {
	b, clock, shared := testBook(3)
	src := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 7000}
	for i := range maxPendingUsers + 10 {
		cred := accesstoken.MintTURN(shared, fmt.Sprint("peer", i), clock.Now().Add(time.Minute))
		if !b.quota(cred.Username, "r", src) {
			t.Fatalf("user %d refused", i)
		}
	}
	clock.Advance(reservationTTL)
	last := accesstoken.MintTURN(shared, "late", clock.Now().Add(time.Minute))
	b.quota(last.Username, "r", src)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) != 1 {
		t.Errorf("%d users hold reservations after the others lapsed, want 1", len(b.pending))
	}
}
