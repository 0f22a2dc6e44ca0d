package gateway

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"
)

// maxRevoked bounds the revocation list; revoked tokens are kept only until
// they would have expired anyway.
const maxRevoked = 100_000

// revokedKey is where the revocation list is kept in the Store.
const revokedKey = "roomgate/revoked_tokens.json"

// Store keeps what must survive a restart (Caddy's storage, in roomgate).
type Store interface {
	Load(ctx context.Context, key string) ([]byte, error)
	Store(ctx context.Context, key string, value []byte) error
}

// revokedLocked reports whether the token with this id was revoked.
func (st *State) revokedLocked(id string) bool {
	_, ok := st.revoked[id]
	return ok
}

// revoke records a token as revoked until exp and cuts the live connections
// that came in with it. It returns the list to persist.
func (st *State) revoke(id string, exp time.Time) []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.clock.Now()
	for k, e := range st.revoked {
		if now.After(e) {
			delete(st.revoked, k)
		}
	}
	if len(st.revoked) < maxRevoked {
		st.revoked[id] = exp
	}
	for c := range st.conns {
		if c.tokenID == id {
			c.closeLocked()
		}
	}
	b, _ := json.Marshal(st.revoked)
	return b
}

// loadStored reads one JSON value kept in s; false when there is none yet,
// or when it is damaged, which is logged (the error names no value).
func loadStored[T any](ctx context.Context, s Store, key, what string, log *zap.Logger) (T, bool) {
	var v T
	b, err := s.Load(ctx, key)
	if err != nil {
		return v, false // none yet
	}
	if err := json.Unmarshal(b, &v); err != nil {
		log.Error("stored state is damaged; starting without it", zap.String("what", what), zap.String("key", key), zap.Error(err))
		return v, false
	}
	return v, true
}

// loadRevoked reads the persisted list, once, into a fresh State.
func (st *State) loadRevoked(ctx context.Context, s Store, log *zap.Logger) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.revokedLoaded || s == nil {
		return
	}
	st.revokedLoaded = true
	m, ok := loadStored[map[string]time.Time](ctx, s, revokedKey, "the list of revoked tokens", log)
	if !ok {
		return
	}
	now := st.clock.Now()
	for k, e := range m {
		if e.After(now) && len(st.revoked) < maxRevoked {
			st.revoked[k] = e
		}
	}
}
