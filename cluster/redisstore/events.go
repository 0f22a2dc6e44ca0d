package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// watchBlock is how long one XREAD waits for news before asking again.
const watchBlock = 5 * time.Second

// Watch implements cluster.Store: it notes where the stream ends now, then
// tails it from there in a goroutine of its own.
func (s *Store) Watch(ctx context.Context, apply func(cluster.Event)) {
	last, err := s.streamEnd(ctx)
	resync := false
	if err != nil {
		// Redis is away at the start: read from a little before now (stream
		// ids are times) and check everything once it answers.
		last = fmt.Sprintf("%d-0", time.Now().Add(-5*time.Second).UnixMilli())
		resync = true
		apply(cluster.Event{Kind: cluster.EventStreamLost})
	}
	go s.tail(ctx, last, resync, apply)
}

// streamEnd is the id of the stream's newest entry, or 0-0.
func (s *Store) streamEnd(ctx context.Context) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.prefix+"events", "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

func (s *Store) tail(ctx context.Context, last string, resync bool, apply func(cluster.Event)) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		block := watchBlock
		if resync {
			block = time.Millisecond // after an outage, ask and come back at once
		}
		streams, err := s.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{s.prefix + "events", last}, Count: 256, Block: block,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			// Nothing new within watchBlock; after an outage, Redis
			// answering is the news.
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			if !resync {
				s.log.Warn("lost the shared state's event stream; retrying", zap.Error(err))
				apply(cluster.Event{Kind: cluster.EventStreamLost})
			}
			resync = true
			sleep(ctx, backoff+rand.N(backoff))
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		if resync {
			// Entries published while Redis was away, or lost with it, may
			// never arrive: the watcher checks what it holds.
			s.log.Info("the shared state's event stream is back")
			apply(cluster.Event{Kind: cluster.EventResync})
			resync, backoff = false, 50*time.Millisecond
		}
		for _, st := range streams {
			for _, m := range st.Messages {
				last = m.ID
				apply(eventOf(m.Values))
			}
		}
	}
}

func eventOf(v map[string]any) cluster.Event {
	str := func(k string) string { s, _ := v[k].(string); return s }
	e := cluster.Event{Kind: str("k"), ID: str("id"), Room: str("room"), Reason: str("reason")}
	if u, err := strconv.ParseInt(str("until"), 10, 64); err == nil && u > 0 {
		e.Until = time.UnixMilli(u)
	}
	return e
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
