package gateway

import (
	"context"
	"encoding/json"

	"github.com/roomgate/roomgate/webhook"
	"go.uber.org/zap"
)

// Event notifications (webhooks) are delivered by webhook.Outbox; the
// gateway gives it the shared store, the rooms' own receivers and, for an
// in-process store, the copy in Caddy's storage.

// webhooksKey is where deliveries are kept in Caddy's storage, for an
// in-process store.
const webhooksKey = "roomgate/webhooks.json"

// notify hands an event to every receiver's queue for room ("" for events
// of no room), and to the room's own webhook for it, if any.
func (g *Gateway) notify(event, room string, data map[string]any, roomHook ...string) {
	g.state.outbox.Notify(event, room, data, roomHook...)
}

func (st *State) notify(event, room string, data map[string]any, roomHook ...string) {
	st.outbox.Notify(event, room, data, roomHook...)
}

// startOutbox starts delivering webhooks until ctx ends.
func (st *State) startOutbox(ctx context.Context) {
	st.outbox = &webhook.Outbox{
		Clock:  st.clock,
		Store:  st.shared,
		Holder: st.holder,
		Bound:  st.sharedCtx,
		Log:    st.log,
		RoomHook: func(ctx context.Context, room, event string) string {
			c, cancel := st.sharedCtx(ctx)
			defer cancel()
			r, err := st.room(c, room)
			if err != nil {
				return ""
			}
			return r.HookFor(event)
		},
	}
	if st.inProcess() {
		st.outbox.Keep = st.keepWebhooks
	}
	st.outbox.Run(ctx)
}

// keepWebhooks copies an in-process store's queues to Caddy's storage, so
// a restart loses no delivery.
func (st *State) keepWebhooks(ctx context.Context, all map[string][][]byte) {
	keep := st.storage.Load()
	if keep == nil {
		return
	}
	b, _ := json.Marshal(all)
	if err := (*keep).Store(ctx, webhooksKey, b); err != nil {
		st.log().Error("keeping the webhook queues", zap.Error(err))
	}
}

// loadWebhooks gives a fresh in-process store the deliveries kept in
// Caddy's storage.
func (st *State) loadWebhooks(ctx context.Context, s Store, log *zap.Logger) {
	st.mu.Lock()
	if st.webhooksLoaded || s == nil || !st.inProcess() {
		st.mu.Unlock()
		return
	}
	st.webhooksLoaded = true
	st.mu.Unlock()
	if all, ok := loadStored[map[string][][]byte](ctx, s, webhooksKey, "the webhook queues", log); ok {
		st.outbox.Load(ctx, all)
	}
}
