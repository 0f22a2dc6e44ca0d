package hostlogin

import (
	"context"
	"net/netip"
	"runtime"
	"time"

	"github.com/jonboulle/clockwork"
)

// Login limits: failures fill a bucket per address (10 at once, one more
// every 6 s) and one per username (50 at once, one more every 6 s). The
// username's bucket only holds back logins from addresses the user has
// not logged in from in the last 30 days: a stranger's guessing slows down
// everyone else's guesses, never the user's own logins.
const (
	AddrFailures = 10
	AddrRefill   = 6 * time.Second
	UserFailures = 50
	UserRefill   = 6 * time.Second
)

// bcryptWaitLimit is the longest a login waits for a bcrypt slot.
const bcryptWaitLimit = 10 * time.Second

// Guard bounds how many bcrypt comparisons run at once in this process
// (it outlives configuration reloads); the failure limits per address and
// per username live in the shared store, so that they count once across
// gateways.
type Guard struct {
	clock clockwork.Clock
	// slots holds one token per bcrypt comparison allowed to run; waiting
	// bounds the queue behind them.
	slots   chan struct{}
	waiting chan struct{}
}

// NewGuard makes a Guard with a slot per CPU.
func NewGuard(clock clockwork.Clock) *Guard {
	n := runtime.GOMAXPROCS(0)
	return &Guard{
		clock:   clock,
		slots:   make(chan struct{}, n),
		waiting: make(chan struct{}, 16*n),
	}
}

// AddrKey groups IPv6 clients by /64, the smallest block a client usually
// owns.
func AddrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// acquire waits for a bcrypt slot. It fails at once when the queue is full,
// and after bcryptWaitLimit or when ctx ends.
func (g *Guard) acquire(ctx context.Context) bool {
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

func (g *Guard) release() { <-g.slots }
