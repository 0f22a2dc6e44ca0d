package gateway

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/cluster"
)

// failingRevoke is a store whose Revoke fails while failing is set.
type failingRevoke struct {
	cluster.Store
	failing atomic.Bool
}

func (f *failingRevoke) Revoke(ctx context.Context, id string, exp time.Time) error {
	if f.failing.Load() {
		return &cluster.Unavailable{Err: errors.New("refused")}
	}
	return f.Store.Revoke(ctx, id, exp)
}

// A gateway that lost its event stream admits nobody until it has given the
// store back its revocations; a first try that fails is tried again at the
// next renewal, not left to the next outage.
func TestAGatewayUnsureOfTheStoreTriesAgainUntilItIsSure(t *testing.T) {
	clock := clockwork.NewFakeClock()
	store := &failingRevoke{Store: cluster.NewMemory(clock)}
	st := NewState(clock, Sharing{Store: store, Lease: 15 * time.Second})
	defer st.Destruct()
	st.mu.Lock()
	st.revokedHeardLocked("t1", clock.Now().Add(time.Hour))
	st.mu.Unlock()

	st.apply(cluster.Event{Kind: cluster.EventStreamLost})
	if st.checkSure() == nil {
		t.Fatal("sure of the store right after losing its event stream")
	}
	store.failing.Store(true)
	st.apply(cluster.Event{Kind: cluster.EventResync})
	if st.checkSure() == nil {
		t.Fatal("sure of the store though its revocations could not be given back")
	}
	store.failing.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for st.checkSure() != nil {
		if time.Now().After(deadline) {
			t.Fatal("still unsure of the store after renewals with the store healthy")
		}
		clock.Advance(5 * time.Second) // a renewal: a third of the lease
		time.Sleep(10 * time.Millisecond)
	}
	if r, err := store.Revoked(context.Background(), "t1"); err != nil || !r {
		t.Fatalf("the revocation given back: %v %v", r, err)
	}
}
