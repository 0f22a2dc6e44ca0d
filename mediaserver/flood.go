package mediaserver

import (
	"time"

	"golang.org/x/time/rate"
)

// floodGate lets a peer's messages through at messageRate (bursts of
// messageBurst), and says "slow down" once per flood: answering every
// message of a flood would fill the peer's own queue and drop it
// unwarned.
type floodGate struct {
	limit  *rate.Limiter
	warned bool
}

func newFloodGate() *floodGate {
	return &floodGate{limit: rate.NewLimiter(messageRate, messageBurst)}
}

// pass says whether a message arriving at now is let through, and, when it
// is not, whether the peer is to be told.
func (g *floodGate) pass(now time.Time) (ok, warn bool) {
	if g.limit.AllowN(now, 1) {
		g.warned = false
		return true, false
	}
	warn = !g.warned
	g.warned = true
	return false, warn
}
