package turnserver

import "sync/atomic"

// Stats are the server's counters since it started, for metrics.
type Stats struct {
	Allocations      int64  // alive now
	AllocationsTotal uint64 // made
	AuthFailures     uint64 // requests refused for their credential
	QuotaRefusals    uint64 // allocations refused by the quota
	PeerRefusals     uint64 // permissions refused by the peer policy
	DroppedPackets   uint64 // relayed packets dropped for their destination
	RelayedPackets   uint64 // packets relayed, both ways
	RelayedBytes     uint64 // their payload bytes
}

type counters struct {
	allocations      atomic.Int64
	allocationsTotal atomic.Uint64
	authFailures     atomic.Uint64
	quotaRefusals    atomic.Uint64
	peerRefusals     atomic.Uint64
	droppedPackets   atomic.Uint64
	relayedPackets   atomic.Uint64
	relayedBytes     atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Allocations:      c.allocations.Load(),
		AllocationsTotal: c.allocationsTotal.Load(),
		AuthFailures:     c.authFailures.Load(),
		QuotaRefusals:    c.quotaRefusals.Load(),
		PeerRefusals:     c.peerRefusals.Load(),
		DroppedPackets:   c.droppedPackets.Load(),
		RelayedPackets:   c.relayedPackets.Load(),
		RelayedBytes:     c.relayedBytes.Load(),
	}
}
