package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
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
	bySub, bySID := "", ""
	if se.IdP != nil {
		bySub = idpIndex(se.IdP.Issuer, "sub", se.IdP.Subject)
		if se.IdP.SID != "" {
			bySID = idpIndex(se.IdP.Issuer, "sid", se.IdP.SID)
		}
	}
	v, err := s.run(ctx, openSessionScript, se.ID, se.User, se.Addr.String(), ms(se.Expires), maxPerUser,
		cluster.SessionKeep.Milliseconds(), idp, bySub, bySID).Result()
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

// idpIndex is the key (after the prefix) of the sessions a provider's
// subject or session has: hashed, as the issuer and its values are
// anyone's strings of any length.
func idpIndex(issuer, kind, value string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + kind + "\x00" + value))
	return "idp:" + hex.EncodeToString(h[:])
}

// IdPSessions implements cluster.Store: the index of the sid when there is
// one, else of the subject, each session read back to check what the
// index only suggests (hashes, and entries of sessions ended since).
func (s *Store) IdPSessions(ctx context.Context, issuer, subject, sid string) ([]cluster.Session, error) {
	if subject == "" && sid == "" {
		return nil, nil
	}
	key := s.prefix + idpIndex(issuer, "sub", subject)
	if sid != "" {
		key = s.prefix + idpIndex(issuer, "sid", sid)
	}
	// Entries outlast nothing: Redis expires the sessions, and a session
	// that is gone is read as none below, whatever this process's clock.
	ids, err := s.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, s.prefix+"sess:"+id, sessionFields...)
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, unavailable(err)
		}
	}
	var found []cluster.Session
	for i, id := range ids {
		se, err := readSession(id, cmds[i].Val())
		if err != nil {
			return nil, err
		}
		if se == nil {
			s.rdb.ZRem(ctx, key, id) // ended: tidy, best effort
			continue
		}
		if se.IdP.Names(issuer, subject, sid) {
			found = append(found, *se)
		}
	}
	slices.SortFunc(found, func(a, b cluster.Session) int { return strings.Compare(a.ID, b.ID) })
	return found, nil
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
