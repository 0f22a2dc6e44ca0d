package turnserver

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
)

func TestAuthTakesGoodCredentialsAndExpiredOnesOnlyForLiveAllocations(t *testing.T) {
	clock := clockwork.NewFakeClock()
	shared := accesstoken.TURNSharedSecret(accesstoken.GenerateSecret())
	var pol atomic.Pointer[peerPolicy]
	pol.Store(&peerPolicy{Policy: Policy{Quota: 2}})
	b := &book{shared: shared, realm: "r", grace: time.Hour, clock: clock, policy: &pol, stats: &counters{},
		live: map[string]int{}, perUser: map[string]int{}}
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

	// The quota counts live allocations per user.
	if !b.quota(cred.Username, "r", other) {
		t.Fatal("the second allocation of a quota of 2 was refused")
	}
	b.created(other, nil, "udp", cred.Username, "r", nil, 0)
	if b.quota(cred.Username, "r", &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 5002}) {
		t.Fatal("a third allocation over a quota of 2")
	}
	b.deleted(client, nil, "udp", cred.Username, "r")
	if !b.quota(cred.Username, "r", client) {
		t.Fatal("a deleted allocation did not free the quota")
	}
	if b.quota("not-a-rest-name", "r", client) {
		t.Fatal("a malformed username passed the quota")
	}
}
