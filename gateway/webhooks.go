package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/webhook"
	"go.uber.org/zap"
)

// Event notifications (webhooks): each event goes to every configured
// receiver, signed the Standard Webhooks way. Deliveries wait in the shared
// state, one queue per receiver and room, so they survive a restart (an
// in-process store is copied to Caddy's storage), go in order per room,
// and are made by one gateway at a time; a failed try is tried again with
// doubling waits for 25 hours. Nothing waits for a delivery: an event is
// handed to a queue of this process and the caller goes on.

// webhookConfig is the latest gateway's receivers and secret.
type webhookConfig struct {
	urls     []string
	secret   webhook.Secret
	retryMax time.Duration
}

// DefaultWebhookRetryMax caps the wait between two tries of a delivery.
const DefaultWebhookRetryMax = time.Hour

// webhooksKey is where deliveries are kept in Caddy's storage, for an
// in-process store.
const webhooksKey = "roomgate/webhooks.json"

// pendingEvents bounds the events waiting to be queued; past it, events
// are dropped with an error in the log rather than slow the door down.
const pendingEvents = 4096

type pendingEvent struct {
	queue string
	item  []byte
}

// notify hands an event to every receiver's queue for room ("" for events
// of no room).
// notify hands an event to every receiver's queue for room ("" for events
// of no room), and to the room's own webhook for it, if any.
func (g *Gateway) notify(event, room string, data map[string]any, roomHook ...string) {
	g.state.notify(event, room, data, roomHook...)
}

func (st *State) notify(event, room string, data map[string]any, roomHook ...string) {
	cfg := st.webhooks.Load()
	if cfg == nil || len(cfg.secret) == 0 {
		return
	}
	urls := cfg.urls
	for _, h := range roomHook {
		if h != "" {
			urls = append(slices.Clip(urls), h)
		}
	}
	if len(urls) == 0 {
		return
	}
	now := st.clock.Now()
	if room != "" {
		data["room"] = room
	}
	body, err := json.Marshal(struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}{event, now.UTC(), data})
	if err != nil {
		return
	}
	for _, u := range urls {
		d := webhook.Delivery{ID: "msg_" + accesstoken.NewID(), URL: u, Body: body, Created: now}
		item, _ := json.Marshal(d)
		select {
		case st.events <- pendingEvent{queue: queueOf(u, room), item: item}:
		default:
			st.log().Error("too many events waiting for their webhook queue; one was dropped", zap.String("event", event))
		}
	}
}

// queueOf names the queue of one receiver and one room.
func queueOf(url, room string) string {
	sum := sha256.Sum256([]byte(url))
	if room == "" {
		room = "_"
	}
	return hex.EncodeToString(sum[:6]) + "|" + room
}

// queueEvents puts events into their queues, in the order they came.
func (st *State) queueEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-st.events:
			c, cancel := st.sharedCtx(ctx)
			err := st.shared.WebhookPush(c, ev.queue, ev.item)
			cancel()
			if err != nil {
				st.log().Error("queueing a webhook delivery; it is lost", zap.Error(err))
				continue
			}
			st.keepWebhooks(ctx)
		}
	}
}

// webhookPoll is how often the queues are looked at.
const webhookPoll = 250 * time.Millisecond

// deliverWebhooks makes the deliveries whose time has come, until ctx ends.
func (st *State) deliverWebhooks(ctx context.Context) {
	client := &http.Client{Timeout: 10 * time.Second}
	t := st.clock.NewTicker(webhookPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		cfg := st.webhooks.Load()
		if cfg == nil {
			continue
		}
		c, cancel := st.sharedCtx(ctx)
		queues, err := st.shared.WebhookQueues(c)
		cancel()
		if err != nil {
			continue
		}
		for _, q := range queues {
			if room, ok := strings.CutPrefix(q, cluster.NodeEventQueuePrefix); ok {
				st.fanOutNodeEvents(ctx, cfg, q, room)
				continue
			}
			st.deliverQueue(ctx, client, cfg, q)
		}
	}
}

// deliverQueue delivers a queue's deliveries in order, stopping at the
// first that fails (it is tried again later, the others wait behind it).
func (st *State) deliverQueue(ctx context.Context, client *http.Client, cfg *webhookConfig, q string) {
	c, cancel := st.sharedCtx(ctx)
	held, err := st.shared.WebhookHold(c, q, st.holder, 30*time.Second)
	cancel()
	if err != nil || !held {
		return
	}
	defer st.keepWebhooks(ctx)
	for ctx.Err() == nil {
		c, cancel := st.sharedCtx(ctx)
		raw, err := st.shared.WebhookHead(c, q)
		cancel()
		if err != nil {
			return // empty, or the store is away: next round
		}
		var d webhook.Delivery
		now := st.clock.Now()
		if json.Unmarshal(raw, &d) != nil {
			st.log().Error("a queued webhook delivery is damaged; dropped")
			st.popWebhook(ctx, q)
			continue
		}
		if now.Before(d.NotBefore) {
			return
		}
		err = cfg.secret.Send(ctx, client, &d, now)
		if err == nil {
			st.popWebhook(ctx, q)
			continue
		}
		if !webhook.Retry(&d, now, cfg.retryMax) {
			st.log().Error("a webhook delivery failed for 25 hours; dropped", zap.String("webhook_id", d.ID), zap.Error(err))
			st.popWebhook(ctx, q)
			continue
		}
		item, _ := json.Marshal(d)
		c, cancel = st.sharedCtx(ctx)
		if err := st.shared.WebhookSetHead(c, q, item); err != nil && !errors.Is(err, cluster.ErrNotFound) {
			st.log().Warn("recording a webhook try", zap.Error(err))
		}
		cancel()
		return
	}
}

// fanOutNodeEvents turns the media server's events of a room into
// deliveries to each receiver, in order.
func (st *State) fanOutNodeEvents(ctx context.Context, cfg *webhookConfig, q, room string) {
	c, cancel := st.sharedCtx(ctx)
	held, err := st.shared.WebhookHold(c, q, st.holder, 30*time.Second)
	cancel()
	if err != nil || !held {
		return
	}
	for ctx.Err() == nil {
		c, cancel := st.sharedCtx(ctx)
		raw, err := st.shared.WebhookHead(c, q)
		cancel()
		if err != nil {
			return
		}
		var ev cluster.NodeEvent
		if json.Unmarshal(raw, &ev) == nil && ev.Type != "" {
			if ev.Data == nil {
				ev.Data = map[string]any{}
			}
			ev.Data["room"] = room
			body, _ := json.Marshal(struct {
				Type      string         `json:"type"`
				Timestamp time.Time      `json:"timestamp"`
				Data      map[string]any `json:"data"`
			}{ev.Type, ev.Timestamp, ev.Data})
			urls := cfg.urls
			if h := st.roomHook(ctx, room, ev.Type); h != "" {
				urls = append(slices.Clip(urls), h)
			}
			for _, u := range urls {
				item, _ := json.Marshal(webhook.Delivery{ID: "msg_" + accesstoken.NewID(), URL: u, Body: body, Created: st.clock.Now()})
				c, cancel := st.sharedCtx(ctx)
				err := st.shared.WebhookPush(c, queueOf(u, room), item)
				cancel()
				if err != nil {
					return // the event stays at the head; next round
				}
			}
		}
		st.popWebhook(ctx, q)
	}
}

// roomHook is an API room's own webhook for an event, or "".
func (st *State) roomHook(ctx context.Context, room, event string) string {
	c, cancel := st.sharedCtx(ctx)
	defer cancel()
	r, err := st.room(c, room)
	if err != nil {
		return ""
	}
	return r.hookFor(event)
}

func (st *State) popWebhook(ctx context.Context, q string) {
	c, cancel := st.sharedCtx(ctx)
	defer cancel()
	if err := st.shared.WebhookPop(c, q); err != nil {
		st.log().Warn("removing a delivered webhook", zap.Error(err))
	}
}

// keepWebhooks copies the queues to Caddy's storage, for an in-process
// store, so a restart loses no delivery.
func (st *State) keepWebhooks(ctx context.Context) {
	keep := st.storage.Load()
	if !st.inProcess() || keep == nil {
		return
	}
	all, err := st.shared.WebhookAll(ctx)
	if err != nil {
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
	all, ok := loadStored[map[string][][]byte](ctx, s, webhooksKey, "the webhook queues", log)
	if !ok {
		return
	}
	for q, items := range all {
		for _, it := range items {
			if err := st.shared.WebhookPush(ctx, q, it); err != nil {
				log.Warn("loading a kept webhook delivery", zap.Error(err))
			}
		}
	}
}
