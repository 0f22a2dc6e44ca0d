package redisstore

import "github.com/redis/go-redis/v9"

// Every script reads the time from Redis (TIME), so the gateways' clocks
// never decide whether something has expired. Scripts touch keys they
// compute from the prefix (ARGV[1]): roomgate expects one Redis primary,
// not Redis Cluster.

// nowMs is the Lua prologue that puts Redis's clock in now (milliseconds).
const nowMs = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// publish is the Lua helper that appends an event to the stream.
const publish = `local function publish(kind, id, room, reason, untilMs)
	redis.call('XADD', ARGV[1] .. 'events', 'MAXLEN', '~', 100000, '*', 'k', kind, 'id', id, 'room', room, 'reason', reason, 'until', untilMs or 0)
end
`

// endSession is the Lua helper that forgets a session and its presence,
// and keeps its id among the revocations until its login would have
// expired (cluster.Store.EndSession says why; outside MaxRevoked, so that a
// logout never fails on a full list). It returns false when there was no
// session, else that expiry (0: passed already), for the event. It needs
// nowMs.
const endSession = `local function endSession(id)
	local p = ARGV[1]
	local s = redis.call('HMGET', p .. 'sess:' .. id, 'user', 'exp')
	local user, exp = s[1], tonumber(s[2]) or 0
	if not user then return false end
	redis.call('DEL', p .. 'sess:' .. id)
	redis.call('ZREM', p .. 'user:' .. user, id)
	for _, m in ipairs(redis.call('ZRANGE', p .. 'hs:' .. id, 0, -1)) do
		local sep = string.find(m, '|', 1, true)
		redis.call('ZREM', p .. 'host:' .. string.sub(m, 1, sep - 1), id .. '|' .. string.sub(m, sep + 1))
	end
	redis.call('DEL', p .. 'hs:' .. id)
	if exp <= now then return 0 end
	redis.call('ZADD', p .. 'revoked', 'GT', exp, id)
	return exp
end
`

// ARGV: prefix, id, user, addr, expires (ms), max per user, keep (ms),
// the identity provider's login as JSON ("" for a password login), then
// the keys (after the prefix) of the indexes by the provider's subject and
// session ("": none) that IdPSessions reads.
var openSessionScript = redis.NewScript(nowMs + publish + endSession + `
local p, id, user = ARGV[1], ARGV[2], ARGV[3]
local exp, max = tonumber(ARGV[5]), tonumber(ARGV[6])
local ukey = p .. 'user:' .. user
if (tonumber(redis.call('ZSCORE', p .. 'revoked', id)) or 0) > now then return -1 end
-- Expired logins leave the count; their sessions stay (SessionKeep) for a
-- host still in a call.
redis.call('ZREMRANGEBYSCORE', ukey, '-inf', now)
local ended = {}
local n = redis.call('ZCARD', ukey)
if n >= max then
	for _, old in ipairs(redis.call('ZRANGE', ukey, 0, n - max)) do
		publish('session_ended', old, '', 'replaced by a newer login', endSession(old) or 0)
		table.insert(ended, old)
	end
end
if exp > now then
	redis.call('HSET', p .. 'sess:' .. id, 'user', user, 'addr', ARGV[4], 'exp', exp)
	if ARGV[8] ~= '' then redis.call('HSET', p .. 'sess:' .. id, 'idp', ARGV[8]) end
	redis.call('PEXPIREAT', p .. 'sess:' .. id, exp + tonumber(ARGV[7]))
	-- An index entry lasts as long as its session may; an ended session's
	-- is dropped when next read.
	for i = 9, 10 do
		if ARGV[i] and ARGV[i] ~= '' then
			local ikey, keep = p .. ARGV[i], exp + tonumber(ARGV[7])
			redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now)
			redis.call('ZADD', ikey, keep, id)
			redis.call('PEXPIREAT', ikey, keep, 'GT')
			if redis.call('PTTL', ikey) < 0 then redis.call('PEXPIREAT', ikey, keep) end
		end
	end
	redis.call('ZADD', ukey, exp, id)
	redis.call('PEXPIREAT', ukey, exp, 'GT')
	if redis.call('PTTL', ukey) < 0 then redis.call('PEXPIREAT', ukey, exp) end
end
return ended
`)

// ARGV: prefix, id, reason.
var endSessionScript = redis.NewScript(nowMs + publish + endSession + `
local exp = endSession(ARGV[2])
if not exp then return 0 end
publish('session_ended', ARGV[2], '', ARGV[3], exp)
return 1
`)

// ARGV: prefix, a new name. Returns the store's name: the one it has, or
// the new one when it had none (it lost its data, or is new).
var incarnationScript = redis.NewScript(`
redis.call('SET', ARGV[1] .. 'incarnation', ARGV[2], 'NX')
return redis.call('GET', ARGV[1] .. 'incarnation')
`)

// ARGV: prefix, id, expires (ms), max. Returns 1, 0 (nothing to keep) or
// -1 (full).
var revokeScript = redis.NewScript(nowMs + publish + `
local key, exp = ARGV[1] .. 'revoked', tonumber(ARGV[3])
if exp <= now then return 0 end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if not redis.call('ZSCORE', key, ARGV[2]) and redis.call('ZCARD', key) >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', key, 'GT', exp, ARGV[2])
publish('revoked', ARGV[2], '', '', exp)
return 1
`)

// ARGV: prefix, id. Returns 1 (revoked), 0, or -1 (the store lost its
// data: no ready marker).
var revokedScript = redis.NewScript(`
if redis.call('EXISTS', ARGV[1] .. 'ready') == 0 then return -1 end
if redis.call('ZSCORE', ARGV[1] .. 'revoked', ARGV[2]) then return 1 end
return 0
`)

// ARGV: prefix, name, data, expires (ms, 0: none), max. Returns 1, 0
// (exists) or -1 (full).
var createRoomScript = redis.NewScript(nowMs + `
local p, name, exp = ARGV[1], ARGV[2], tonumber(ARGV[4])
local key = p .. 'room:' .. name
if redis.call('EXISTS', key) == 1 then return 0 end
if exp ~= 0 and exp <= now then return 1 end
if redis.call('SCARD', p .. 'rooms') >= tonumber(ARGV[5]) then
	for _, n in ipairs(redis.call('SMEMBERS', p .. 'rooms')) do
		if redis.call('EXISTS', p .. 'room:' .. n) == 0 then redis.call('SREM', p .. 'rooms', n) end
	end
	if redis.call('SCARD', p .. 'rooms') >= tonumber(ARGV[5]) then return -1 end
end
redis.call('SET', key, ARGV[3])
if exp ~= 0 then redis.call('PEXPIREAT', key, exp) end
redis.call('SADD', p .. 'rooms', name)
return 1
`)

// ARGV: prefix, name, data, expires (ms, 0: none). Returns 1 or 0 (none).
var replaceRoomScript = redis.NewScript(publish + `
local key = ARGV[1] .. 'room:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('SET', key, ARGV[3])
if tonumber(ARGV[4]) ~= 0 then redis.call('PEXPIREAT', key, tonumber(ARGV[4])) end
publish('room_changed', '', ARGV[2], '')
return 1
`)

// ARGV: prefix, name. Returns 1 or 0 (none).
var deleteRoomScript = redis.NewScript(publish + `
redis.call('SREM', ARGV[1] .. 'rooms', ARGV[2])
if redis.call('DEL', ARGV[1] .. 'room:' .. ARGV[2]) == 0 then return 0 end
publish('room_deleted', '', ARGV[2], '')
return 1
`)

// The login buckets: a hash per key with the tokens left and when they
// were counted. ARGV: prefix, then key, burst, refill (ms) triples.
const loginBucket = nowMs + `
local p = ARGV[1]
local function tokens(key, burst, refill)
	local v = redis.call('HMGET', key, 'tokens', 'at')
	if not v[1] then return burst end
	return math.min(burst, tonumber(v[1]) + (now - tonumber(v[2])) / refill)
end
`

// Returns the longest wait in ms.
var loginWaitScript = redis.NewScript(loginBucket + `
local wait = 0
for i = 2, #ARGV, 3 do
	local refill = tonumber(ARGV[i + 2])
	local t = tokens(p .. 'login:' .. ARGV[i], tonumber(ARGV[i + 1]), refill)
	if t < 1 then wait = math.max(wait, math.ceil((1 - t) * refill)) end
end
return wait
`)

var loginFailedScript = redis.NewScript(loginBucket + `
for i = 2, #ARGV, 3 do
	local key = p .. 'login:' .. ARGV[i]
	local burst, refill = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
	local t = tokens(key, burst, refill)
	if t >= 1 then t = t - 1 end
	redis.call('HSET', key, 'tokens', tostring(t), 'at', now)
	redis.call('PEXPIRE', key, burst * refill)
end
return 0
`)

// nowUs puts Redis's clock in now (microseconds): logins remembered in one
// millisecond still have an order.
const nowUs = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`

// ARGV: prefix, user, address, memory (ms), most addresses kept.
var rememberLoginScript = redis.NewScript(nowUs + `
local key = ARGV[1] .. 'known:' .. ARGV[2]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
redis.call('ZADD', key, now + tonumber(ARGV[4]) * 1000, ARGV[3])
local n = redis.call('ZCARD', key)
if n > tonumber(ARGV[5]) then redis.call('ZREMRANGEBYRANK', key, 0, n - tonumber(ARGV[5]) - 1) end
redis.call('PEXPIRE', key, tonumber(ARGV[4]))
return 0
`)

// ARGV: prefix, user, address. Returns 1 when known.
var knownLoginScript = redis.NewScript(nowUs + `
local expiry = redis.call('ZSCORE', ARGV[1] .. 'known:' .. ARGV[2], ARGV[3])
if expiry and tonumber(expiry) > now then return 1 end
return 0
`)

// ARGV: prefix, room, session, holder, ttl (ms). Returns 1 or 0 (no such
// session).
var hostPresentScript = redis.NewScript(nowMs + `
local p, room, sess, holder = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', p .. 'sess:' .. sess) == 0 then return 0 end
local untilMs = now + tonumber(ARGV[5])
for key, member in pairs({[p .. 'host:' .. room] = sess .. '|' .. holder, [p .. 'hs:' .. sess] = room .. '|' .. holder}) do
	redis.call('ZADD', key, untilMs, member)
	redis.call('PEXPIREAT', key, untilMs, 'GT')
	if redis.call('PTTL', key) < 0 then redis.call('PEXPIREAT', key, untilMs) end
end
return 1
`)

// ARGV: prefix, room, session, holder.
var hostGoneScript = redis.NewScript(`
local p, room, sess, holder = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('ZREM', p .. 'host:' .. room, sess .. '|' .. holder)
redis.call('ZREM', p .. 'hs:' .. sess, room .. '|' .. holder)
return 1
`)

// ARGV: the key. Returns how many leases in it are live.
var liveLeasesScript = redis.NewScript(nowMs + `
redis.call('ZREMRANGEBYSCORE', ARGV[1], '-inf', now)
return redis.call('ZCARD', ARGV[1])
`)
