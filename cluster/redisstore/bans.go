package redisstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
)

// Bans are one hash, field identity|room (room empty: every room), value
// the ban as JSON.

// ARGV: prefix, field, ban JSON, identity, room, max. Returns 1, or -1 (full).
var banScript = redis.NewScript(publish + `
local key = ARGV[1] .. 'bans'
if redis.call('HEXISTS', key, ARGV[2]) == 0 and redis.call('HLEN', key) >= tonumber(ARGV[6]) then return -1 end
redis.call('HSET', key, ARGV[2], ARGV[3])
publish('banned', ARGV[4], ARGV[5], '')
return 1
`)

// Ban implements cluster.Store.
func (s *Store) Ban(ctx context.Context, b cluster.Ban) error {
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	s.sweepBans(ctx)
	n, err := s.run(ctx, banScript, b.Identity+"|"+b.Room, raw, b.Identity, b.Room, cluster.MaxBans).Int()
	if err != nil {
		return unavailable(err)
	}
	if n < 0 {
		return cluster.ErrFull
	}
	return nil
}

// Unban implements cluster.Store.
func (s *Store) Unban(ctx context.Context, identity, room string) error {
	n, err := s.rdb.HDel(ctx, s.prefix+"bans", identity+"|"+room).Result()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return cluster.ErrNotFound
	}
	return nil
}

// Bans implements cluster.Store.
func (s *Store) Bans(ctx context.Context) ([]cluster.Ban, error) {
	all, err := s.rdb.HGetAll(ctx, s.prefix+"bans").Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := []cluster.Ban{}
	now := time.Now()
	for _, raw := range all {
		var b cluster.Ban
		if json.Unmarshal([]byte(raw), &b) == nil && (b.Until.IsZero() || now.Before(b.Until)) {
			out = append(out, b)
		}
	}
	return out, nil
}

// sweepBans forgets bans that have run out.
func (s *Store) sweepBans(ctx context.Context) {
	all, err := s.rdb.HGetAll(ctx, s.prefix+"bans").Result()
	if err != nil {
		return
	}
	now := time.Now()
	var gone []string
	for field, raw := range all {
		var b cluster.Ban
		if json.Unmarshal([]byte(raw), &b) != nil || (!b.Until.IsZero() && !now.Before(b.Until)) {
			gone = append(gone, field)
		}
	}
	if len(gone) > 0 {
		s.rdb.HDel(ctx, s.prefix+"bans", gone...)
	}
}
