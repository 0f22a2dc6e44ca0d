package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
)

// ARGV: prefix, id, node JSON, ttl (ms), pin ttl (ms), then room, epoch
// pairs held. Returns the rooms no longer pinned to the node at their
// epoch. A held room with no pin at all (Redis came back empty, or the pin
// lapsed) is pinned back to the node under the epoch it holds: no newer
// placement exists, and the pin keeps that epoch as the room's latest, so
// that the pin script gives a later placement a larger one.
var registerNodeScript = redis.NewScript(`
local p, id = ARGV[1], ARGV[2]
redis.call('SET', p .. 'node:' .. id, ARGV[3], 'PX', tonumber(ARGV[4]))
redis.call('SADD', p .. 'nodes', id)
local lost = {}
for i = 6, #ARGV, 2 do
	local key = p .. 'pin:' .. ARGV[i]
	local v = redis.call('HMGET', key, 'node', 'epoch')
	if not v[1] and not v[2] then
		redis.call('HSET', key, 'node', id, 'epoch', ARGV[i + 1])
		redis.call('PEXPIRE', key, tonumber(ARGV[5]))
	elseif v[1] ~= id or v[2] ~= ARGV[i + 1] then
		table.insert(lost, ARGV[i])
	end
end
return lost
`)

// ARGV: prefix, room, pin ttl (ms), then the node ids to choose from.
// Returns {node id, epoch, node JSON, moved (1: off a dead node)}, or nil
// when no choice is live and taking rooms. A draining node keeps the rooms
// pinned to it but is not given new ones: its lease says so, read here in
// the same step, so every gateway stops at once whatever its node list.
var pinScript = redis.NewScript(`
local p, room = ARGV[1], ARGV[2]
local key = p .. 'pin:' .. room
local cur = redis.call('HMGET', key, 'node', 'epoch')
if cur[1] then
	local info = redis.call('GET', p .. 'node:' .. cur[1])
	if info then
		redis.call('PEXPIRE', key, tonumber(ARGV[3]))
		return {cur[1], cur[2], info, '0'}
	end
end
for i = 4, #ARGV do
	local info = redis.call('GET', p .. 'node:' .. ARGV[i])
	if info and not cjson.decode(info).draining then
		local t = redis.call('TIME')
		local epoch = tonumber(t[1]) * 1000000 + tonumber(t[2])
		if cur[2] and tonumber(cur[2]) >= epoch then epoch = tonumber(cur[2]) + 1 end
		local e = string.format('%d', epoch)
		redis.call('HSET', key, 'node', ARGV[i], 'epoch', e)
		redis.call('PEXPIRE', key, tonumber(ARGV[3]))
		local moved = '0'
		if cur[1] then moved = '1' end
		return {ARGV[i], e, info, moved}
	end
end
return nil
`)

// ARGV: prefix, room, node, epoch.
var unpinScript = redis.NewScript(`
local key = ARGV[1] .. 'pin:' .. ARGV[2]
local v = redis.call('HMGET', key, 'node', 'epoch')
if v[1] == ARGV[3] and v[2] == ARGV[4] then redis.call('DEL', key) end
return 0
`)

// A limited token's record: a hash with the time left (ms, while no
// connection is open), the connections open, the deadline (while one is),
// the uses, and when its last connection ended.
// ARGV: prefix, id, eject limit (ms, 0: none), max uses (0: any),
// reconnect (1/0), expires (ms), reconnect window (ms).
// Returns {deadline ms (0: none), uses left}, or {-1, 0} when used up.
var tokenJoinScript = redis.NewScript(nowMs + `
local key = ARGV[1] .. 'tok:' .. ARGV[2]
local eject, maxUses, reconnect = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
local v = redis.call('HMGET', key, 'left', 'open', 'deadline', 'uses', 'last_end')
local left = tonumber(v[1] or ARGV[3])
local open, deadline = tonumber(v[2] or '0'), tonumber(v[3] or '0')
local uses, lastEnd = tonumber(v[4] or '0'), tonumber(v[5] or '0')
local usesLeft = 0
if maxUses > 0 then
	local again = reconnect and uses > 0 and (open > 0 or now - lastEnd < tonumber(ARGV[7]))
	if not again then
		if uses >= maxUses then return {-1, 0} end
		uses = uses + 1
	end
	usesLeft = maxUses - uses
end
if eject > 0 then
	if open <= 0 then deadline = now + left end
else
	deadline = 0
end
redis.call('HSET', key, 'left', left, 'open', open + 1, 'deadline', deadline, 'uses', uses, 'last_end', lastEnd)
redis.call('PEXPIREAT', key, tonumber(ARGV[6]))
return {deadline, usesLeft}
`)

// ARGV: prefix, id, refund (1/0).
var tokenLeaveScript = redis.NewScript(nowMs + `
local key = ARGV[1] .. 'tok:' .. ARGV[2]
local v = redis.call('HMGET', key, 'open', 'deadline', 'uses')
if not v[1] or tonumber(v[1]) <= 0 then return 0 end
local open = tonumber(v[1]) - 1
redis.call('HSET', key, 'open', open)
if ARGV[3] == '1' and tonumber(v[3] or '0') > 0 then redis.call('HINCRBY', key, 'uses', -1) end
if open == 0 then
	redis.call('HSET', key, 'last_end', now)
	if tonumber(v[2] or '0') > 0 then redis.call('HSET', key, 'left', math.max(0, tonumber(v[2]) - now)) end
end
return 0
`)

// RegisterNode implements cluster.Store.
func (s *Store) RegisterNode(ctx context.Context, n cluster.Node, ttl time.Duration, held map[string]int64) ([]string, error) {
	info, err := json.Marshal(n)
	if err != nil {
		return nil, err
	}
	args := []any{n.ID, info, max(ttl.Milliseconds(), 1), cluster.PinTTL.Milliseconds()}
	for room, epoch := range held {
		args = append(args, room, fmt.Sprint(epoch))
	}
	lost, err := s.run(ctx, registerNodeScript, args...).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	slices.Sort(lost)
	return lost, nil
}

// LeaveNode implements cluster.Store.
func (s *Store) LeaveNode(ctx context.Context, id string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.prefix+"node:"+id)
		p.SRem(ctx, s.prefix+"nodes", id)
		return nil
	})
	return unavailable(err)
}

// Nodes implements cluster.Store.
func (s *Store) Nodes(ctx context.Context) ([]cluster.Node, error) {
	ids, err := s.rdb.SMembers(ctx, s.prefix+"nodes").Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := []cluster.Node{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.prefix + "node:" + id
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	var gone []any
	for i, v := range vals {
		var n cluster.Node
		if str, ok := v.(string); ok && json.Unmarshal([]byte(str), &n) == nil {
			out = append(out, n)
		} else {
			gone = append(gone, ids[i])
		}
	}
	if len(gone) > 0 {
		// A node whose lease lapsed; it adds itself again if it comes back.
		s.rdb.SRem(ctx, s.prefix+"nodes", gone...)
	}
	slices.SortFunc(out, func(a, b cluster.Node) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Pin implements cluster.Store.
func (s *Store) Pin(ctx context.Context, room string, choices []string) (cluster.Pin, error) {
	args := []any{room, cluster.PinTTL.Milliseconds()}
	for _, c := range choices {
		args = append(args, c)
	}
	v, err := s.run(ctx, pinScript, args...).StringSlice()
	return pinOf(room, v, err)
}

// pinOf reads the pin script's answer.
func pinOf(room string, v []string, err error) (cluster.Pin, error) {
	switch {
	case errors.Is(err, redis.Nil) || (err == nil && len(v) == 0):
		return cluster.Pin{}, cluster.ErrNotFound
	case err != nil:
		return cluster.Pin{}, unavailable(err)
	case len(v) != 4:
		return cluster.Pin{}, fmt.Errorf("pin of room %s: unexpected answer", room)
	}
	p := cluster.Pin{Moved: v[3] == "1"}
	if _, err := fmt.Sscan(v[1], &p.Epoch); err != nil {
		return cluster.Pin{}, fmt.Errorf("pin of room %s: bad epoch", room)
	}
	if err := json.Unmarshal([]byte(v[2]), &p.Node); err != nil {
		return cluster.Pin{}, fmt.Errorf("node %s in Redis is damaged", v[0])
	}
	return p, nil
}

// Unpin implements cluster.Store.
func (s *Store) Unpin(ctx context.Context, room, node string, epoch int64) error {
	return unavailable(s.run(ctx, unpinScript, room, node, fmt.Sprint(epoch)).Err())
}

// RoomState implements cluster.Store.
func (s *Store) RoomState(ctx context.Context, room string) (cluster.RoomState, error) {
	v, err := s.rdb.HMGet(ctx, s.prefix+"rstate:"+room, "locked", "ended_until").Result()
	if err != nil {
		return cluster.RoomState{}, unavailable(err)
	}
	var st cluster.RoomState
	st.Locked = v[0] == "1"
	if e, ok := v[1].(string); ok {
		var ms int64
		if _, err := fmt.Sscan(e, &ms); err == nil && ms > 0 {
			st.EndedUntil = time.UnixMilli(ms)
		}
	}
	return st, nil
}

// SetRoomState implements cluster.Store.
func (s *Store) SetRoomState(ctx context.Context, room string, st cluster.RoomState) error {
	key := s.prefix + "rstate:" + room
	if st == (cluster.RoomState{}) {
		return unavailable(s.rdb.Del(ctx, key).Err())
	}
	locked := "0"
	if st.Locked {
		locked = "1"
	}
	keep := max(cluster.PinTTL, time.Until(st.EndedUntil))
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "locked", locked, "ended_until", ms(st.EndedUntil))
		p.PExpire(ctx, key, keep)
		return nil
	})
	return unavailable(err)
}

// TokenJoin implements cluster.Store.
func (s *Store) TokenJoin(ctx context.Context, j cluster.TokenJoin) (cluster.TokenJoined, error) {
	reconnect := "0"
	if j.Reconnect {
		reconnect = "1"
	}
	v, err := s.run(ctx, tokenJoinScript, j.ID, j.EjectAfter.Milliseconds(), j.MaxUses, reconnect,
		j.Expires.UnixMilli(), cluster.ReconnectWindow.Milliseconds()).Int64Slice()
	if err != nil {
		return cluster.TokenJoined{}, unavailable(err)
	}
	if len(v) != 2 || v[0] < 0 {
		return cluster.TokenJoined{}, cluster.ErrUsedUp
	}
	out := cluster.TokenJoined{UsesLeft: int(v[1])}
	if v[0] > 0 {
		out.Deadline = time.UnixMilli(v[0])
	}
	return out, nil
}

// TokenLeave implements cluster.Store.
func (s *Store) TokenLeave(ctx context.Context, id string, refund bool) error {
	r := "0"
	if refund {
		r = "1"
	}
	return unavailable(s.run(ctx, tokenLeaveScript, id, r).Err())
}

// TokenUses implements cluster.Store.
func (s *Store) TokenUses(ctx context.Context, id string) (int, error) {
	n, err := s.rdb.HGet(ctx, s.prefix+"tok:"+id, "uses").Int()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}
