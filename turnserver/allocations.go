package turnserver

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/turn/v4"
	"github.com/roomgate/roomgate/accesstoken"
)

// book keeps what the server knows of allocations, from pion's events:
// which are alive (for refreshes past a credential's expiry) and how many
// each user holds (for the quota).
type book struct {
	shared string
	realm  string
	grace  time.Duration
	clock  clockwork.Clock
	policy *atomic.Pointer[peerPolicy]
	stats  *counters

	mu      sync.Mutex
	live    map[string]int // srcAddr + " " + username → allocations
	perUser map[string]int
	// pending holds, per user, when each allocation that passed the quota
	// but is not yet reported made passed it, so that simultaneous
	// requests (on the other per-CPU sockets, or over TCP) count too.
	pending map[string][]time.Time
}

// reservationTTL is how long an allocation that passed the quota counts
// against it before pion reports it made. pion makes it within the same
// request, so this matters only when making it failed.
const reservationTTL = 5 * time.Second

// maxPendingUsers is how many users' reservations are kept before those
// that have all lapsed are swept: a user whose allocation failed and who
// never asks again would otherwise stay in the map.
const maxPendingUsers = 1024

func newBook(shared, realm string, grace time.Duration, clock clockwork.Clock, policy *atomic.Pointer[peerPolicy], stats *counters) *book {
	return &book{shared: shared, realm: realm, grace: grace, clock: clock, policy: policy, stats: stats,
		live: map[string]int{}, perUser: map[string]int{}, pending: map[string][]time.Time{}}
}

// liveKey names a client's allocations by transport, address and username:
// a TCP connection from the port a UDP allocation uses is another client.
func liveKey(src net.Addr, username string) string {
	return src.Network() + " " + src.String() + " " + username
}

// auth is pion's AuthHandler. A credential is good while it has not
// expired. After that it still authenticates the requests of an allocation
// that was made with it while it was good, from the same client address,
// for up to the grace: pion checks credentials on Refresh, CreatePermission
// and ChannelBind too, and without this every relayed call would drop at
// the first refresh after its credential's expiry. A new allocation needs a
// credential that has not expired: quota refuses it whatever the transport
// or listener.
func (b *book) auth(username, realm string, src net.Addr) ([]byte, bool) {
	expires, _, ok := accesstoken.ParseTURNUsername(username)
	if !ok || realm != b.realm {
		b.stats.authFailures.Add(1)
		return nil, false
	}
	now := b.clock.Now()
	if !now.Before(expires) {
		b.mu.Lock()
		live := b.live[liveKey(src, username)] > 0
		b.mu.Unlock()
		if !live || !now.Before(expires.Add(b.grace)) {
			b.stats.authFailures.Add(1)
			return nil, false
		}
	}
	return turn.GenerateAuthKey(username, realm, accesstoken.TURNPassword(b.shared, username)), true
}

// quota is pion's QuotaHandler, asked only for a new allocation: the
// credential must not have expired (auth lets an expired one through for
// a live allocation's refreshes, and cannot tell an Allocate from them),
// and a user holds at most Policy.Quota allocations at once, counting
// those being made.
func (b *book) quota(username, _ string, _ net.Addr) bool {
	expires, user, ok := accesstoken.ParseTURNUsername(username)
	if !ok {
		return false
	}
	now := b.clock.Now()
	if !now.Before(expires) {
		b.stats.authFailures.Add(1)
		return false
	}
	limit := b.policy.Load().Quota
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) > maxPendingUsers {
		for u, p := range b.pending {
			if now.Sub(p[len(p)-1]) >= reservationTTL {
				delete(b.pending, u)
			}
		}
	}
	p := b.pending[user]
	for len(p) > 0 && now.Sub(p[0]) >= reservationTTL {
		p = p[1:]
	}
	if b.perUser[user]+len(p) >= limit {
		b.setPending(user, p)
		b.stats.quotaRefusals.Add(1)
		return false
	}
	b.setPending(user, append(p, now))
	return true
}

// setPending is called with b.mu held.
func (b *book) setPending(user string, p []time.Time) {
	if len(p) == 0 {
		delete(b.pending, user)
		return
	}
	b.pending[user] = p
}

func (b *book) created(src, _ net.Addr, _, username, _ string, _ net.Addr, _ int) {
	_, user, _ := accesstoken.ParseTURNUsername(username)
	b.mu.Lock()
	b.live[liveKey(src, username)]++
	b.perUser[user]++
	if p := b.pending[user]; len(p) > 0 { // the reservation becomes the allocation
		b.setPending(user, p[1:])
	}
	b.mu.Unlock()
	b.stats.allocations.Add(1)
	b.stats.allocationsTotal.Add(1)
}

func (b *book) deleted(src, _ net.Addr, _, username, _ string) {
	_, user, _ := accesstoken.ParseTURNUsername(username)
	k := liveKey(src, username)
	b.mu.Lock()
	if b.live[k]--; b.live[k] <= 0 {
		delete(b.live, k)
	}
	if b.perUser[user]--; b.perUser[user] <= 0 {
		delete(b.perUser, user)
	}
	b.mu.Unlock()
	b.stats.allocations.Add(-1)
}

func (b *book) authEvent(_, _ net.Addr, _, _, _, _ string, verdict bool) {
	if !verdict {
		b.stats.authFailures.Add(1)
	}
}

func (b *book) events() turn.EventHandler {
	return turn.EventHandler{
		OnAuth:              b.authEvent,
		OnAllocationCreated: b.created,
		OnAllocationDeleted: b.deleted,
	}
}
