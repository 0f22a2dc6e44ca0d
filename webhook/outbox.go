package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// Delivery of event notifications: each event goes to every configured
// receiver. Deliveries wait in the shared state, one queue per receiver
// and room, so they survive a restart (an in-process store is copied to
// Caddy's storage), go in order per room, and are made by one gateway at a
// time; a failed try is tried again with doubling waits for 25 hours.
// Nothing waits for a delivery: an event is handed to a queue of this
// process and the caller goes on.

// Config is the latest gateway's receivers and secret.
type Config struct {
	URLs     []string
	Secret   Secret
	RetryMax time.Duration
}

// DefaultRetryMax caps the wait between two tries of a delivery.
const DefaultRetryMax = time.Hour

// pendingEvents bounds the events waiting to be queued; past it, events
// are dropped with an error in the log rather than slow the door down.
const pendingEvents = 4096

// poll is how often the queues are looked at.
const poll = 250 * time.Millisecond

type pending struct {
	queue string
	item  []byte
}

// Outbox queues events and delivers them. Its fields are set once, before
// Run.
type Outbox struct {
	Clock clockwork.Clock
	// Store holds the queues.
	Store cluster.Store
	// Holder names this process when it holds a queue to deliver it.
	Holder string
	// Bound bounds one call to Store.
	Bound func(context.Context) (context.Context, context.CancelFunc)
	// Log is the current logger.
	Log func() *zap.Logger
	// RoomHook is an API room's own receiver for an event, or "".
	RoomHook func(ctx context.Context, room, event string) string
	// Keep, when set, copies every queue after a change (an in-process
	// store's copy in Caddy's storage).
	Keep func(ctx context.Context, all map[string][][]byte)

	config atomic.Pointer[Config]
	events chan pending
}

// Configure sets the receivers; events before the first call are dropped.
func (o *Outbox) Configure(c Config) { o.config.Store(&c) }

// Run queues and delivers events until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	o.events = make(chan pending, pendingEvents)
	go o.queueEvents(ctx)
	go o.deliver(ctx)
}

// Notify hands an event to every receiver's queue for room ("" for events
// of no room), and to the room's own receivers given, if any.
func (o *Outbox) Notify(event, room string, data map[string]any, roomHooks ...string) {
	cfg := o.config.Load()
	if cfg == nil || len(cfg.Secret) == 0 {
		return
	}
	urls := cfg.URLs
	for _, h := range roomHooks {
		if h != "" {
			urls = append(slices.Clip(urls), h)
		}
	}
	if len(urls) == 0 {
		return
	}
	now := o.Clock.Now()
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
		d := Delivery{ID: "msg_" + accesstoken.NewID(), URL: u, Body: body, Created: now}
		item, _ := json.Marshal(d)
		select {
		case o.events <- pending{queue: queueOf(u, room), item: item}:
		default:
			o.Log().Error("too many events waiting for their webhook queue; one was dropped", zap.String("event", event))
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
func (o *Outbox) queueEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-o.events:
			c, cancel := o.Bound(ctx)
			err := o.Store.WebhookPush(c, ev.queue, ev.item)
			cancel()
			if err != nil {
				o.Log().Error("queueing a webhook delivery; it is lost", zap.Error(err))
				continue
			}
			o.keep(ctx)
		}
	}
}

// deliver makes the deliveries whose time has come, until ctx ends.
func (o *Outbox) deliver(ctx context.Context) {
	client := &http.Client{Timeout: 10 * time.Second}
	t := o.Clock.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		cfg := o.config.Load()
		if cfg == nil {
			continue
		}
		c, cancel := o.Bound(ctx)
		queues, err := o.Store.WebhookQueues(c)
		cancel()
		if err != nil {
			continue
		}
		for _, q := range queues {
			if room, ok := strings.CutPrefix(q, cluster.NodeEventQueuePrefix); ok {
				o.fanOutNodeEvents(ctx, cfg, q, room)
				continue
			}
			o.deliverQueue(ctx, client, cfg, q)
		}
	}
}

// hold takes queue q for this process, so that one delivers it at a time.
func (o *Outbox) hold(ctx context.Context, q string) bool {
	c, cancel := o.Bound(ctx)
	defer cancel()
	held, err := o.Store.WebhookHold(c, q, o.Holder, 30*time.Second)
	return err == nil && held
}

// head is the first item of queue q; false when empty or out of reach.
func (o *Outbox) head(ctx context.Context, q string) ([]byte, bool) {
	c, cancel := o.Bound(ctx)
	defer cancel()
	raw, err := o.Store.WebhookHead(c, q)
	return raw, err == nil
}

// deliverQueue delivers a queue's deliveries in order, stopping at the
// first that fails (it is tried again later, the others wait behind it).
func (o *Outbox) deliverQueue(ctx context.Context, client *http.Client, cfg *Config, q string) {
	if !o.hold(ctx, q) {
		return
	}
	defer o.keep(ctx)
	for ctx.Err() == nil {
		raw, ok := o.head(ctx, q)
		if !ok {
			return // empty, or the store is away: next round
		}
		var d Delivery
		now := o.Clock.Now()
		if json.Unmarshal(raw, &d) != nil {
			o.Log().Error("a queued webhook delivery is damaged; dropped")
			o.pop(ctx, q)
			continue
		}
		if now.Before(d.NotBefore) {
			return
		}
		err := cfg.Secret.Send(ctx, client, &d, now)
		if err == nil {
			o.pop(ctx, q)
			continue
		}
		if !Retry(&d, now, cfg.RetryMax) {
			o.Log().Error("a webhook delivery failed for 25 hours; dropped", zap.String("webhook_id", d.ID), zap.Error(err))
			o.pop(ctx, q)
			continue
		}
		item, _ := json.Marshal(d)
		c, cancel := o.Bound(ctx)
		if err := o.Store.WebhookSetHead(c, q, item); err != nil && !errors.Is(err, cluster.ErrNotFound) {
			o.Log().Warn("recording a webhook try", zap.Error(err))
		}
		cancel()
		return
	}
}

// fanOutNodeEvents turns the media server's events of a room into
// deliveries to each receiver, in order.
func (o *Outbox) fanOutNodeEvents(ctx context.Context, cfg *Config, q, room string) {
	if !o.hold(ctx, q) {
		return
	}
	for ctx.Err() == nil {
		raw, ok := o.head(ctx, q)
		if !ok {
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
			urls := cfg.URLs
			if h := o.RoomHook(ctx, room, ev.Type); h != "" {
				urls = append(slices.Clip(urls), h)
			}
			for _, u := range urls {
				item, _ := json.Marshal(Delivery{ID: "msg_" + accesstoken.NewID(), URL: u, Body: body, Created: o.Clock.Now()})
				c, cancel := o.Bound(ctx)
				err := o.Store.WebhookPush(c, queueOf(u, room), item)
				cancel()
				if err != nil {
					return // the event stays at the head; next round
				}
			}
		}
		o.pop(ctx, q)
	}
}

func (o *Outbox) pop(ctx context.Context, q string) {
	c, cancel := o.Bound(ctx)
	defer cancel()
	if err := o.Store.WebhookPop(c, q); err != nil {
		o.Log().Warn("removing a delivered webhook", zap.Error(err))
	}
}

// keep hands every queue to Keep, when set.
func (o *Outbox) keep(ctx context.Context) {
	if o.Keep == nil {
		return
	}
	all, err := o.Store.WebhookAll(ctx)
	if err != nil {
		return
	}
	o.Keep(ctx, all)
}

// Load gives the store deliveries kept elsewhere (Keep's copy), after a
// restart.
func (o *Outbox) Load(ctx context.Context, all map[string][][]byte) {
	for q, items := range all {
		for _, it := range items {
			if err := o.Store.WebhookPush(ctx, q, it); err != nil {
				o.Log().Warn("loading a kept webhook delivery", zap.Error(err))
			}
		}
	}
}
