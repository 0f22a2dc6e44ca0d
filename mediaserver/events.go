package mediaserver

import (
	"context"
	"encoding/json"

	"github.com/roomgate/roomgate/cluster"

	"go.uber.org/zap"
)

// emit queues an event of room for the gateways' webhooks, in the order
// emitted; it never waits for the shared state.
func (s *Server) emit(event, room string, data map[string]any) {
	if s.cfg.Shared == nil {
		return
	}
	b, err := json.Marshal(cluster.NodeEvent{Type: event, Timestamp: s.cfg.Clock.Now().UTC(), Room: room, Data: data})
	if err != nil {
		return
	}
	select {
	case s.events <- queuedEvent{room: room, item: b}:
	default:
		s.log.Error("too many events waiting for the shared state; one was dropped", zap.String("event", event))
	}
}

type queuedEvent struct {
	room string
	item []byte
}

// queueEvents writes emitted events to their room's queue, in order.
func (s *Server) queueEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.events:
			c, cancel := context.WithTimeout(ctx, nodeRenew)
			err := s.cfg.Shared.WebhookPush(c, cluster.NodeEventQueuePrefix+ev.room, ev.item)
			cancel()
			if err != nil {
				s.log.Warn("queueing an event for the webhooks", zap.Error(err))
			}
		}
	}
}
