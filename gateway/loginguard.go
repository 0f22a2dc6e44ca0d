package gateway

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

// Login limits. Failures fill a bucket per address and per username; a full
// bucket refuses further attempts before any bcrypt work is done.
const (
	failureBurst    = 10               // failures allowed at once
	failureRefill   = 6 * time.Second  // one more failure allowed every …
	maxTrackedKeys  = 100_000          // addresses or usernames remembered at once
	bcryptWaitLimit = 10 * time.Second // longest a login waits for a bcrypt slot
)

// loginGuard bounds what logins may cost: failures per address and per
// username, and how many bcrypt comparisons run at once.
type loginGuard struct {
	clock  clockwork.Clock
	mu     sync.Mutex
	byAddr failureBuckets
	byUser failureBuckets
	// slots holds one token per bcrypt comparison allowed to run; waiting
	// bounds the queue behind them.
	slots   chan struct{}
	waiting chan struct{}
}

func newLoginGuard(clock clockwork.Clock) *loginGuard {
	n := runtime.GOMAXPROCS(0)
	return &loginGuard{
		clock:   clock,
		byAddr:  failureBuckets{m: map[string]*rate.Limiter{}},
		byUser:  failureBuckets{m: map[string]*rate.Limiter{}},
		slots:   make(chan struct{}, n),
		waiting: make(chan struct{}, 16*n),
	}
}

// addrKey groups IPv6 clients by /64, the smallest block a client usually owns.
func addrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// retryAfter says how long this address or user must wait; 0: go ahead.
func (g *loginGuard) retryAfter(addr netip.Addr, user string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	return max(g.byAddr.wait(addrKey(addr), now), g.byUser.wait(user, now))
}

func (g *loginGuard) failed(addr netip.Addr, user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	g.byAddr.fail(addrKey(addr), now)
	g.byUser.fail(user, now)
}

func (g *loginGuard) succeeded(user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.byUser.m, user)
}

// acquire waits for a bcrypt slot. It fails at once when the queue is full,
// and after bcryptWaitLimit or when ctx ends.
func (g *loginGuard) acquire(ctx context.Context) bool {
	select {
	case g.waiting <- struct{}{}:
	default:
		return false
	}
	defer func() { <-g.waiting }()
	timeout := g.clock.NewTimer(bcryptWaitLimit)
	defer timeout.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-ctx.Done():
	case <-timeout.Chan():
	}
	return false
}

func (g *loginGuard) release() { <-g.slots }

// failureBuckets is a bounded map of token buckets, one per key.
type failureBuckets struct {
	m map[string]*rate.Limiter
}

func (b *failureBuckets) wait(key string, now time.Time) time.Duration {
	lim := b.m[key]
	if lim == nil {
		if len(b.m) >= maxTrackedKeys && !b.prune(now) {
			// Under a flood of distinct keys, fail closed rather than forget.
			return failureRefill
		}
		return 0
	}
	if t := lim.TokensAt(now); t < 1 {
		return time.Duration((1 - t) * float64(failureRefill))
	}
	return 0
}

func (b *failureBuckets) fail(key string, now time.Time) {
	lim := b.m[key]
	if lim == nil {
		if len(b.m) >= maxTrackedKeys && !b.prune(now) {
			return
		}
		lim = rate.NewLimiter(rate.Every(failureRefill), failureBurst)
		b.m[key] = lim
	}
	lim.AllowN(now, 1)
}

// prune forgets keys whose bucket has refilled; it reports whether room was made.
func (b *failureBuckets) prune(now time.Time) bool {
	for k, lim := range b.m {
		if lim.TokensAt(now) >= failureBurst {
			delete(b.m, k)
		}
	}
	return len(b.m) < maxTrackedKeys
}
