// Package redisstore keeps roomgate's shared state (cluster.Store) in
// Redis, so that several gateways and media servers agree on it: one Redis
// primary (7.0 or later), reached over TCP or TLS (rediss://), or the
// primary that Redis Sentinel names, followed through its failovers.
//
// Changes travel as entries of one Redis stream, which every process tails
// with XREAD BLOCK; after an outage a reader goes on from the last entry it
// saw, so an event published while it was away still arrives.
//
// It must never log the Redis URL (it may hold a password), nor put a
// token or a password into Redis: tokens are known by their id.
package redisstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// DefaultPrefix starts every key roomgate writes.
const DefaultPrefix = "rg:"

// Options say how to reach Redis.
type Options struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://… for TLS.
	// Either URL or Sentinels, not both.
	URL string
	// Sentinels are the host:port of Redis Sentinels watching MasterName:
	// the store asks them which node is the primary, and follows them when
	// they promote a replica.
	Sentinels []string
	// MasterName is the name the sentinels monitor the primary under.
	MasterName string
	// SentinelPassword is the sentinels' requirepass, if any.
	SentinelPassword string
	// Password is the data nodes' password (AUTH) with Sentinels; with URL
	// it is in the URL.
	Password string
	// Prefix starts every key; default DefaultPrefix. Sites sharing one
	// Redis keep apart by prefix.
	Prefix string
	// Logger hears of outages and recoveries; nil: none.
	Logger *zap.Logger
	// Observe, when set, is told how long each round trip to Redis took.
	Observe func(time.Duration)
}

// Store is a cluster.Store on Redis.
type Store struct {
	rdb     *redis.Client
	prefix  string
	log     *zap.Logger
	observe func(time.Duration)
	up      atomic.Bool
}

// Timeouts: an admission waits at most this long for Redis before it is
// refused (fail closed) rather than hang.
const (
	dialTimeout = time.Second
	ioTimeout   = 500 * time.Millisecond
)

// ParseURL checks a Redis URL without connecting; its errors never repeat
// the URL, which may hold a password.
func ParseURL(u string) (*redis.Options, error) {
	o, err := redis.ParseURL(u)
	if err != nil {
		return nil, errors.New("the redis URL must be redis://[user:password@]host:port[/db] or rediss://… for TLS")
	}
	return o, nil
}

// New connects lazily: it fails only on a malformed URL, so a process can
// start while Redis is down and serve once it is back.
func New(o Options) (*Store, error) {
	var rdb *redis.Client
	if len(o.Sentinels) > 0 {
		if o.URL != "" {
			return nil, errors.New("a redis URL or sentinels, not both")
		}
		if o.MasterName == "" {
			return nil, errors.New("sentinels need the master name they monitor")
		}
		// The same timeouts as a single primary: an admission waits at most
		// ioTimeout, then is refused, while the sentinels promote a replica.
		// The client hears +switch-master from the sentinels and drops its
		// connections to the old primary.
		rdb = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:       o.MasterName,
			SentinelAddrs:    o.Sentinels,
			SentinelPassword: o.SentinelPassword,
			Password:         o.Password,
			DialTimeout:      dialTimeout,
			ReadTimeout:      ioTimeout,
			WriteTimeout:     ioTimeout,
			PoolTimeout:      time.Second,
			MaxRetries:       1,
			DisableIdentity:  true,
		})
	} else {
		ro, err := ParseURL(o.URL)
		if err != nil {
			return nil, err
		}
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = dialTimeout, ioTimeout, ioTimeout
		ro.PoolTimeout = time.Second
		ro.MaxRetries = 1
		ro.DisableIdentity = true // CLIENT SETINFO is noise in Redis's logs
		rdb = redis.NewClient(ro)
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	s := &Store{rdb: rdb, prefix: o.Prefix, log: o.Logger, observe: o.Observe}
	s.rdb.AddHook(roundTrips{s})
	return s, nil
}

// Close lets go of the connections.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping measures one round trip.
func (s *Store) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return 0, unavailable(err)
	}
	return time.Since(start), nil
}

func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return &cluster.Unavailable{Err: err}
}

func (s *Store) run(ctx context.Context, sc *redis.Script, args ...any) *redis.Cmd {
	return sc.Run(ctx, s.rdb, nil, append([]any{s.prefix}, args...)...)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// CreateRoom implements cluster.Store.
func (s *Store) CreateRoom(ctx context.Context, name string, data []byte, expires time.Time) error {
	n, err := s.run(ctx, createRoomScript, name, data, ms(expires), cluster.MaxRooms).Int()
	switch {
	case err != nil:
		return unavailable(err)
	case n == 0:
		return cluster.ErrExists
	case n < 0:
		return cluster.ErrFull
	}
	return nil
}

// ReplaceRoom implements cluster.Store.
func (s *Store) ReplaceRoom(ctx context.Context, name string, data []byte, expires time.Time) error {
	n, err := s.run(ctx, replaceRoomScript, name, data, ms(expires)).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return cluster.ErrNotFound
	}
	return nil
}

// DeleteRoom implements cluster.Store.
func (s *Store) DeleteRoom(ctx context.Context, name string) error {
	n, err := s.run(ctx, deleteRoomScript, name).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return cluster.ErrNotFound
	}
	return nil
}

// Room implements cluster.Store.
func (s *Store) Room(ctx context.Context, name string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.prefix+"room:"+name).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, cluster.ErrNotFound
	case err != nil:
		return nil, unavailable(err)
	}
	return b, nil
}

// Rooms implements cluster.Store.
func (s *Store) Rooms(ctx context.Context) ([][]byte, error) {
	names, err := s.rdb.SMembers(ctx, s.prefix+"rooms").Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([][]byte, 0, len(names))
	for start := 0; start < len(names); start += 500 {
		keys := make([]string, 0, 500)
		for _, n := range names[start:min(start+500, len(names))] {
			keys = append(keys, s.prefix+"room:"+n)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, unavailable(err)
		}
		for _, v := range vals {
			if str, ok := v.(string); ok {
				out = append(out, []byte(str))
			}
		}
	}
	return out, nil
}

func loginArgs(buckets []cluster.Bucket) []any {
	args := []any{}
	for _, b := range buckets {
		args = append(args, b.Key, b.Burst, b.Refill.Milliseconds())
	}
	return args
}

// LoginWait implements cluster.Store.
func (s *Store) LoginWait(ctx context.Context, buckets ...cluster.Bucket) (time.Duration, error) {
	n, err := s.run(ctx, loginWaitScript, loginArgs(buckets)...).Int64()
	if err != nil {
		return 0, unavailable(err)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// LoginFailed implements cluster.Store.
func (s *Store) LoginFailed(ctx context.Context, buckets ...cluster.Bucket) error {
	return unavailable(s.run(ctx, loginFailedScript, loginArgs(buckets)...).Err())
}

// LoginSucceeded implements cluster.Store.
func (s *Store) LoginSucceeded(ctx context.Context, key string) error {
	return unavailable(s.rdb.Del(ctx, s.prefix+"login:"+key).Err())
}

// RememberLogin implements cluster.Store.
func (s *Store) RememberLogin(ctx context.Context, user, addr string) error {
	return unavailable(s.run(ctx, rememberLoginScript, user, addr, cluster.LoginMemory.Milliseconds(), cluster.MaxKnownLogins).Err())
}

// KnownLogin implements cluster.Store.
func (s *Store) KnownLogin(ctx context.Context, user, addr string) (bool, error) {
	n, err := s.run(ctx, knownLoginScript, user, addr).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// HostPresent implements cluster.Store.
func (s *Store) HostPresent(ctx context.Context, room, sess, holder string, ttl time.Duration) error {
	n, err := s.run(ctx, hostPresentScript, room, sess, holder, max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return cluster.ErrNotFound
	}
	return nil
}

// HostGone implements cluster.Store.
func (s *Store) HostGone(ctx context.Context, room, sess, holder string) error {
	return unavailable(s.run(ctx, hostGoneScript, room, sess, holder).Err())
}

// Hosted implements cluster.Store.
func (s *Store) Hosted(ctx context.Context, room string) (bool, error) {
	return s.leases(ctx, s.prefix+"host:"+room)
}

// SessionPresent implements cluster.Store.
func (s *Store) SessionPresent(ctx context.Context, sess string) (bool, error) {
	return s.leases(ctx, s.prefix+"hs:"+sess)
}

func (s *Store) leases(ctx context.Context, key string) (bool, error) {
	n, err := liveLeasesScript.Run(ctx, s.rdb, nil, key).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n > 0, nil
}

var _ cluster.Store = (*Store)(nil)
