package gateway

import (
	"context"
	"net/netip"
	"time"

	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// People who come to a host_protected room before its host wait, and are
// not let in wholesale when the host arrives: the host sees them in the
// lobby and admits them (an API room with admitEarlyArrivals lets them in
// at once). Someone is an early arrival of a room when, within
// earlyArrivalFor, they were told the host was not there yet; the mark is
// a one-place bucket in the shared store, so it holds on every gateway.
const earlyArrivalFor = 10 * time.Minute

func earlyBucket(room string, addr netip.Addr) cluster.Bucket {
	return cluster.Bucket{Key: "early:" + room + "|" + addrKey(addr), Burst: 1, Refill: earlyArrivalFor}
}

// arrivedEarly marks someone told that the host is not there yet.
func (g *Gateway) arrivedEarly(ctx context.Context, room string, addr netip.Addr) {
	if err := g.state.shared.LoginFailed(ctx, earlyBucket(room, addr)); err != nil {
		g.log.Warn("marking an early arrival", zap.Error(err))
	}
}

// earlyArrival reports whether someone came to room before its host.
func (g *Gateway) earlyArrival(ctx context.Context, room string, addr netip.Addr) (bool, error) {
	wait, err := g.state.shared.LoginWait(ctx, earlyBucket(room, addr))
	return wait > 0, err
}
