package gateway

import (
	"context"
	"net/netip"
	"runtime"
	"time"

	"github.com/jonboulle/clockwork"
)

// bcryptWaitLimit is the longest a login waits for a bcrypt slot.
const bcryptWaitLimit = 10 * time.Second

// loginGuard bounds how many bcrypt comparisons run at once; the failure
// limits per address and per username live in the shared store, so that
// they count once across gateways.
type loginGuard struct {
	clock clockwork.Clock
	// slots holds one token per bcrypt comparison allowed to run; waiting
	// bounds the queue behind them.
	slots   chan struct{}
	waiting chan struct{}
}

func newLoginGuard(clock clockwork.Clock) *loginGuard {
	n := runtime.GOMAXPROCS(0)
	return &loginGuard{
		clock:   clock,
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
