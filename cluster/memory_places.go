package cluster

import (
	"context"
	"time"
)

// Take implements Store. In one process there is one holder that matters:
// nothing outlives it, so leases are not kept.
func (m *Memory) Take(ctx context.Context, holder string, places []Place) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range places {
		if p.Limit > 0 && m.places[p.Key] >= p.Limit {
			return p.Key, nil
		}
	}
	for _, p := range places {
		m.places[p.Key]++
	}
	return "", nil
}

// Full implements Store.
func (m *Memory) Full(ctx context.Context, holder string, places []Place) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range places {
		if p.Limit > 0 && m.places[p.Key] >= p.Limit {
			return p.Key, nil
		}
	}
	return "", nil
}

// Give implements Store.
func (m *Memory) Give(ctx context.Context, holder string, places []Place) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range places {
		if m.places[p.Key]--; m.places[p.Key] <= 0 {
			delete(m.places, p.Key)
		}
	}
	return nil
}

// SetHolderPlaces implements Store: in one process a Give cannot be lost,
// and places are not kept per holder.
func (m *Memory) SetHolderPlaces(ctx context.Context, holder string, counts map[string]int) error {
	return nil
}

// RenewHolder implements Store.
func (m *Memory) RenewHolder(ctx context.Context, holder string, ttl time.Duration) error {
	return nil
}
