package redisstore

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundTrips times every command (a pipeline as one) for the Observe
// option, and notes whether Redis answered the last one.
type roundTrips struct {
	s *Store
}

func (h roundTrips) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		h.s.up.Store(err == nil)
		return c, err
	}
}

func (h roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h.time(cmd.Name() == "xread", func() error { return next(ctx, cmd) })
	}
}

func (h roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return h.time(false, func() error { return next(ctx, cmds) })
	}
}

// time runs one round trip; a blocking read waits for news, not for Redis,
// so it is not timed.
func (h roundTrips) time(blocking bool, f func() error) error {
	start := time.Now()
	err := f()
	answered := err == nil || errors.Is(err, redis.Nil) || isReply(err)
	h.s.up.Store(answered)
	if answered && !blocking && h.s.observe != nil {
		h.s.observe(time.Since(start))
	}
	return err
}

// isReply tells an error Redis sent (a script's, say) from a failure to
// reach it.
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

// Up reports whether Redis answered the last command sent to it.
func (s *Store) Up() bool { return s.up.Load() }
