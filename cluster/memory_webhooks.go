package cluster

import (
	"context"
	"slices"
	"time"
)

type webhookHold struct {
	holder string
	until  time.Time
}

// WebhookPush implements Store.
func (m *Memory) WebhookPush(ctx context.Context, queue string, item []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.webhooks[queue]) >= MaxWebhookQueue {
		return ErrFull
	}
	m.webhooks[queue] = append(m.webhooks[queue], slices.Clone(item))
	return nil
}

// WebhookQueues implements Store.
func (m *Memory) WebhookQueues(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.webhooks))
	for q := range m.webhooks {
		out = append(out, q)
	}
	slices.Sort(out)
	return out, nil
}

// WebhookHold implements Store.
func (m *Memory) WebhookHold(ctx context.Context, queue, holder string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	if h, ok := m.holds[queue]; ok && h.holder != holder && now.Before(h.until) {
		return false, nil
	}
	m.holds[queue] = webhookHold{holder, now.Add(ttl)}
	return true, nil
}

// WebhookHead implements Store.
func (m *Memory) WebhookHead(ctx context.Context, queue string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.webhooks[queue]
	if len(q) == 0 {
		return nil, ErrNotFound
	}
	return slices.Clone(q[0]), nil
}

// WebhookSetHead implements Store.
func (m *Memory) WebhookSetHead(ctx context.Context, queue string, item []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.webhooks[queue]
	if len(q) == 0 {
		return ErrNotFound
	}
	q[0] = slices.Clone(item)
	return nil
}

// WebhookPop implements Store.
func (m *Memory) WebhookPop(ctx context.Context, queue string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.webhooks[queue]
	if len(q) <= 1 {
		delete(m.webhooks, queue)
		delete(m.holds, queue)
		return nil
	}
	m.webhooks[queue] = q[1:]
	return nil
}

// WebhookAll implements Store.
func (m *Memory) WebhookAll(ctx context.Context) (map[string][][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][][]byte, len(m.webhooks))
	for q, items := range m.webhooks {
		for _, it := range items {
			out[q] = append(out[q], slices.Clone(it))
		}
	}
	return out, nil
}
