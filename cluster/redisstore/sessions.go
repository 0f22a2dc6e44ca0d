package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
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
	idp, err := idpJSON(se.IdP)
	if err != nil {
		return nil, err
	}
	v, err := s.run(ctx, openSessionScript, se.ID, se.User, se.Addr.String(), ms(se.Expires), maxPerUser, cluster.SessionKeep.Milliseconds(), idp).Result()
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
	v, err := s.rdb.HMGet(ctx, s.prefix+"sess:"+id, sessionFields...).Result()
	if err != nil {
		return cluster.Session{}, unavailable(err)
	}
	se, err := readSession(id, v)
	if err != nil {
		return cluster.Session{}, err
	}
	if se == nil || !time.Now().Before(se.Expires) {
		return cluster.Session{}, cluster.ErrNotFound
	}
	return *se, nil
}

// sessionFields are a session's fields in its Redis hash, in the order
// readSession takes them.
var sessionFields = []string{"user", "addr", "exp", "idp"}

// readSession makes a session of its hash's fields; nil when there is none.
func readSession(id string, v []any) (*cluster.Session, error) {
	if len(v) != len(sessionFields) {
		return nil, fmt.Errorf("session %s: unexpected answer from Redis", id)
	}
	user, _ := v[0].(string)
	addr, _ := v[1].(string)
	exp, _ := v[2].(string)
	idp, _ := v[3].(string)
	if user == "" {
		return nil, nil
	}
	a, err1 := netip.ParseAddr(addr)
	e, err2 := strconv.ParseInt(exp, 10, 64)
	se := &cluster.Session{ID: id, User: user, Addr: a, Expires: time.UnixMilli(e)}
	var err3 error
	if idp != "" {
		se.IdP = new(cluster.IdPLogin)
		err3 = json.Unmarshal([]byte(idp), se.IdP)
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("session %s in Redis is damaged", id)
	}
	return se, nil
}

func idpJSON(l *cluster.IdPLogin) (string, error) {
	if l == nil {
		return "", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
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
