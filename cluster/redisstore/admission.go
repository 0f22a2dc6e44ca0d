package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
)

// ARGV: prefix, room, token id, session id, hosted (1/0), rejoin id, then
// the identities to look for bans of.
// Returns {room JSON or nil, revoked (-1: reset), {user, addr, exp, idp},
// hosted count, rejoin barred, {bans found, as JSON}}.
var factsScript = redis.NewScript(nowMs + `
local p, room = ARGV[1], ARGV[2]
local out = {}
out[1] = redis.call('GET', p .. 'room:' .. room)
local ready = redis.call('EXISTS', p .. 'ready') == 1
local rev = 0
if ARGV[3] ~= '' then
	if not ready then rev = -1 elseif redis.call('ZSCORE', p .. 'revoked', ARGV[3]) then rev = 1 end
end
out[2] = rev
out[3] = {}
if ARGV[4] ~= '' then out[3] = redis.call('HMGET', p .. 'sess:' .. ARGV[4], 'user', 'addr', 'exp', 'idp') end
local hosted = 0
if ARGV[5] == '1' then
	local key = p .. 'host:' .. room
	redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
	hosted = redis.call('ZCARD', key)
end
out[4] = hosted
local barred = 0
if ARGV[6] ~= '' and (not ready or redis.call('ZSCORE', p .. 'revoked', ARGV[6])) then barred = 1 end
out[5] = barred
local bans = {}
for i = 7, #ARGV do
	for _, f in ipairs({ARGV[i] .. '|' .. room, ARGV[i] .. '|'}) do
		local b = redis.call('HGET', p .. 'bans', f)
		if b then table.insert(bans, b) end
	end
end
out[6] = bans
return out
`)

// Facts implements cluster.Store in one round trip.
func (s *Store) Facts(ctx context.Context, q cluster.FactsQuery) (cluster.Facts, error) {
	hosted := "0"
	if q.Hosted {
		hosted = "1"
	}
	args := []any{q.Room, q.Token, q.Session, hosted, q.Rejoin}
	for _, id := range q.Identities {
		args = append(args, id)
	}
	v, err := s.run(ctx, factsScript, args...).Slice()
	if err != nil {
		return cluster.Facts{}, unavailable(err)
	}
	if len(v) != 6 {
		return cluster.Facts{}, errors.New("facts: unexpected answer from Redis")
	}
	var f cluster.Facts
	if room, ok := v[0].(string); ok {
		f.Room = []byte(room)
	}
	rev, _ := v[1].(int64)
	if rev < 0 {
		return f, cluster.ErrReset
	}
	f.Revoked = rev == 1
	if sess, ok := v[2].([]any); ok && len(sess) > 0 {
		se, err := readSession(q.Session, sess)
		if err != nil {
			return f, err
		}
		if se != nil && time.Now().Before(se.Expires) {
			f.Session = se
		}
	}
	n, _ := v[3].(int64)
	f.Hosted = n > 0
	b, _ := v[4].(int64)
	f.RejoinBarred = b == 1
	if bans, ok := v[5].([]any); ok {
		for _, raw := range bans {
			var ban cluster.Ban
			str, _ := raw.(string)
			if json.Unmarshal([]byte(str), &ban) == nil && (ban.Until.IsZero() || time.Now().Before(ban.Until)) {
				f.Banned = &ban
				break
			}
		}
	}
	return f, nil
}

// Enter implements cluster.Store: the pin and the places in one pipeline.
func (s *Store) Enter(ctx context.Context, room string, choices []string, holder string, places []cluster.Place) (cluster.Entered, error) {
	pinArgs := []any{s.prefix, room, cluster.PinTTL.Milliseconds()}
	for _, c := range choices {
		pinArgs = append(pinArgs, c)
	}
	takeArgs := []any{s.prefix, holder}
	for _, p := range places {
		takeArgs = append(takeArgs, p.Key, p.Limit)
	}
	takeArgs = append(takeArgs, "take")
	var pin *redis.Cmd
	var take *redis.Cmd
	run := func() error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			if len(choices) > 0 {
				pin = pinScript.EvalSha(ctx, p, nil, pinArgs...)
			}
			take = takeScript.EvalSha(ctx, p, nil, takeArgs...)
			return nil
		})
		return err
	}
	err := run()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		// Redis restarted and forgot the scripts: load them and go again.
		for _, sc := range []*redis.Script{pinScript, takeScript} {
			if lerr := sc.Load(ctx, s.rdb).Err(); lerr != nil {
				return cluster.Entered{}, unavailable(lerr)
			}
		}
		err = run()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return cluster.Entered{}, unavailable(err)
	}
	var e cluster.Entered
	full, err := take.Text()
	if err != nil {
		return e, unavailable(err)
	}
	e.Full = full
	if pin != nil {
		v, err := pin.StringSlice()
		p, perr := pinOf(room, v, err)
		if perr != nil {
			if full == "" {
				// Nowhere to go: the places are given back.
				s.Give(ctx, holder, places)
			}
			return cluster.Entered{Full: full}, perr
		}
		e.Pin = &p
	}
	return e, nil
}
