package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/cluster"
)

// Host sessions and revocations in Redis.

// OpenSession implements cluster.Store.
func (s *Store) OpenSession(ctx context.Context, se cluster.Session, maxPerUser int) ([]string, error) {
	v, err := s.run(ctx, openSessionScript, se.ID, se.User, se.Addr.String(), ms(se.Expires), maxPerUser, cluster.SessionKeep.Milliseconds()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	if n, ok := v.(int64); ok && n < 0 {
		return nil, cluster.ErrRevoked
	}
	list, _ := v.([]any)
	ended := make([]string, 0, len(list))
	for _, id := range list {
		if id, ok := id.(string); ok {
			ended = append(ended, id)
		}
	}
	return ended, nil
}

// Incarnation implements cluster.Store: a name kept in Redis, made by the
// first process to ask after Redis lost it.
func (s *Store) Incarnation(ctx context.Context) (string, error) {
	name, err := s.run(ctx, incarnationScript, rand.Text()).Text()
	return name, unavailable(err)
}

// Session implements cluster.Store.
func (s *Store) Session(ctx context.Context, id string) (cluster.Session, error) {
	v, err := s.rdb.HMGet(ctx, s.prefix+"sess:"+id, "user", "addr", "exp").Result()
	if err != nil {
		return cluster.Session{}, unavailable(err)
	}
	user, _ := v[0].(string)
	addr, _ := v[1].(string)
	exp, _ := v[2].(string)
	if user == "" {
		return cluster.Session{}, cluster.ErrNotFound
	}
	a, err1 := netip.ParseAddr(addr)
	e, err2 := strconv.ParseInt(exp, 10, 64)
	if err1 != nil || err2 != nil {
		return cluster.Session{}, fmt.Errorf("session %s in Redis is damaged", id)
	}
	if !time.Now().Before(time.UnixMilli(e)) {
		return cluster.Session{}, cluster.ErrNotFound
	}
	return cluster.Session{ID: id, User: user, Addr: a, Expires: time.UnixMilli(e)}, nil
}

// EndSession implements cluster.Store.
func (s *Store) EndSession(ctx context.Context, id, reason string) error {
	n, err := s.run(ctx, endSessionScript, id, reason).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return cluster.ErrNotFound
	}
	return nil
}

// Revoke implements cluster.Store.
func (s *Store) Revoke(ctx context.Context, id string, expires time.Time) error {
	n, err := s.run(ctx, revokeScript, id, ms(expires), cluster.MaxRevoked).Int()
	if err != nil {
		return unavailable(err)
	}
	if n < 0 {
		return cluster.ErrFull
	}
	return nil
}

// Revoked implements cluster.Store. An entry stays until its token has
// expired, and an expired token fails verification anyway, so presence in
// the list is the answer. A Redis without the ready marker has lost its
// data since the last Restored.
func (s *Store) Revoked(ctx context.Context, id string) (bool, error) {
	n, err := s.run(ctx, revokedScript, id).Int()
	switch {
	case err != nil:
		return false, unavailable(err)
	case n < 0:
		return false, cluster.ErrReset
	}
	return n == 1, nil
}

// Restored implements cluster.Store.
func (s *Store) Restored(ctx context.Context) error {
	return unavailable(s.rdb.Set(ctx, s.prefix+"ready", "1", 0).Err())
}
