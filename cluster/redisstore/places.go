package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
)

// Places are counted per holder in a hash per key (field: holder, value:
// places held); a holder's places count while its lease gw:{holder} lives.

// ARGV: prefix, holder, then key, limit pairs, then "take" or "dry".
// Returns the first full key, or "".
var takeScript = redis.NewScript(`
local p, holder = ARGV[1], ARGV[2]
for i = 3, #ARGV - 1, 2 do
	local limit = tonumber(ARGV[i + 1])
	if limit > 0 then
		local key = p .. 'places:' .. ARGV[i]
		local held = redis.call('HGETALL', key)
		local n = 0
		for j = 1, #held, 2 do
			if held[j] == holder or redis.call('EXISTS', p .. 'gw:' .. held[j]) == 1 then
				n = n + tonumber(held[j + 1])
			else
				redis.call('HDEL', key, held[j])
			end
		end
		if n >= limit then return ARGV[i] end
	end
end
if ARGV[#ARGV] == 'dry' then return '' end
for i = 3, #ARGV - 1, 2 do
	local key = p .. 'places:' .. ARGV[i]
	redis.call('HINCRBY', key, holder, 1)
	redis.call('PEXPIRE', key, 86400000)
end
return ''
`)

// ARGV: prefix, holder, then keys.
var giveScript = redis.NewScript(`
local p, holder = ARGV[1], ARGV[2]
for i = 3, #ARGV do
	local key = p .. 'places:' .. ARGV[i]
	if redis.call('HINCRBY', key, holder, -1) <= 0 then redis.call('HDEL', key, holder) end
end
return 0
`)

// Take implements cluster.Store.
func (s *Store) Take(ctx context.Context, holder string, places []cluster.Place) (string, error) {
	return s.take(ctx, holder, places, "take")
}

// Full implements cluster.Store.
func (s *Store) Full(ctx context.Context, holder string, places []cluster.Place) (string, error) {
	return s.take(ctx, holder, places, "dry")
}

func (s *Store) take(ctx context.Context, holder string, places []cluster.Place, mode string) (string, error) {
	args := []any{holder}
	for _, p := range places {
		args = append(args, p.Key, p.Limit)
	}
	args = append(args, mode)
	full, err := s.run(ctx, takeScript, args...).Text()
	if err != nil {
		return "", unavailable(err)
	}
	return full, nil
}

// Give implements cluster.Store.
func (s *Store) Give(ctx context.Context, holder string, places []cluster.Place) error {
	args := []any{holder}
	for _, p := range places {
		args = append(args, p.Key)
	}
	return unavailable(s.run(ctx, giveScript, args...).Err())
}

// SetHolderPlaces implements cluster.Store.
func (s *Store) SetHolderPlaces(ctx context.Context, holder string, counts map[string]int) error {
	if len(counts) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for key, n := range counts {
			k := s.prefix + "places:" + key
			if n <= 0 {
				p.HDel(ctx, k, holder)
			} else {
				p.HSet(ctx, k, holder, n)
				p.PExpire(ctx, k, 24*time.Hour)
			}
		}
		return nil
	})
	return unavailable(err)
}

// RenewHolder implements cluster.Store.
func (s *Store) RenewHolder(ctx context.Context, holder string, ttl time.Duration) error {
	return unavailable(s.rdb.Set(ctx, s.prefix+"gw:"+holder, "1", ttl).Err())
}
