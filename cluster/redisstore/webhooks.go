package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
)

// Webhook queues: a list per queue, and a set of the queues in use.

// ARGV: prefix, queue, item, max. Returns 1, or -1 (full).
var webhookPushScript = redis.NewScript(`
local key = ARGV[1] .. 'wh:' .. ARGV[2]
if redis.call('LLEN', key) >= tonumber(ARGV[4]) then return -1 end
redis.call('RPUSH', key, ARGV[3])
redis.call('SADD', ARGV[1] .. 'whq', ARGV[2])
return 1
`)

// ARGV: prefix, queue, holder, ttl (ms). Returns 1 when held by holder.
var webhookHoldScript = redis.NewScript(`
local key = ARGV[1] .. 'whl:' .. ARGV[2]
local cur = redis.call('GET', key)
if cur and cur ~= ARGV[3] then return 0 end
redis.call('SET', key, ARGV[3], 'PX', tonumber(ARGV[4]))
return 1
`)

// ARGV: prefix, queue.
var webhookPopScript = redis.NewScript(`
local key = ARGV[1] .. 'wh:' .. ARGV[2]
redis.call('LPOP', key)
if redis.call('LLEN', key) == 0 then
	redis.call('SREM', ARGV[1] .. 'whq', ARGV[2])
	redis.call('DEL', ARGV[1] .. 'whl:' .. ARGV[2])
end
return 0
`)

// WebhookPush implements cluster.Store.
func (s *Store) WebhookPush(ctx context.Context, queue string, item []byte) error {
	n, err := s.run(ctx, webhookPushScript, queue, item, cluster.MaxWebhookQueue).Int()
	if err != nil {
		return unavailable(err)
	}
	if n < 0 {
		return cluster.ErrFull
	}
	return nil
}

// WebhookQueues implements cluster.Store.
func (s *Store) WebhookQueues(ctx context.Context) ([]string, error) {
	q, err := s.rdb.SMembers(ctx, s.prefix+"whq").Result()
	return q, unavailable(err)
}

// WebhookHold implements cluster.Store.
func (s *Store) WebhookHold(ctx context.Context, queue, holder string, ttl time.Duration) (bool, error) {
	n, err := s.run(ctx, webhookHoldScript, queue, holder, max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// WebhookHead implements cluster.Store.
func (s *Store) WebhookHead(ctx context.Context, queue string) ([]byte, error) {
	b, err := s.rdb.LIndex(ctx, s.prefix+"wh:"+queue, 0).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, cluster.ErrNotFound
	}
	return b, unavailable(err)
}

// WebhookSetHead implements cluster.Store.
func (s *Store) WebhookSetHead(ctx context.Context, queue string, item []byte) error {
	err := s.rdb.LSet(ctx, s.prefix+"wh:"+queue, 0, item).Err()
	if err != nil && err.Error() == "ERR no such key" {
		return cluster.ErrNotFound
	}
	return unavailable(err)
}

// WebhookPop implements cluster.Store.
func (s *Store) WebhookPop(ctx context.Context, queue string) error {
	return unavailable(s.run(ctx, webhookPopScript, queue).Err())
}

// WebhookAll implements cluster.Store.
func (s *Store) WebhookAll(ctx context.Context) (map[string][][]byte, error) {
	queues, err := s.WebhookQueues(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][][]byte{}
	for _, q := range queues {
		items, err := s.rdb.LRange(ctx, s.prefix+"wh:"+q, 0, -1).Result()
		if err != nil {
			return nil, unavailable(err)
		}
		for _, it := range items {
			out[q] = append(out[q], []byte(it))
		}
	}
	return out, nil
}
