package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// revokedKey is where the revocation list is kept in the Store.
const revokedKey = "roomgate/revoked_tokens.json"

// Store keeps what must survive a restart (Caddy's storage, in roomgate).
type Store interface {
	Load(ctx context.Context, key string) ([]byte, error)
	Store(ctx context.Context, key string, value []byte) error
}

// revokedHeardLocked records a revocation this gateway heard of, until the
// token's expiry, and cuts the live connections that came in with it.
// Every revocation heard, whichever gateway made it, goes into this
// gateway's copy in Caddy's storage (keepRevoked): a gateway later started
// alone on a shared store that lost its data gives it back.
func (st *State) revokedHeardLocked(id string, exp time.Time) {
	st.cuts.Add(1)
	now := st.clock.Now()
	if _, ok := st.revoked[id]; !ok && len(st.revoked) >= cluster.MaxRevoked {
		for k, e := range st.revoked {
			if now.After(e) {
				delete(st.revoked, k)
			}
		}
	}
	// A revocation heard again with an earlier expiry (a resync's guess)
	// does not shorten the one known.
	if old, ok := st.revoked[id]; exp.After(now) && exp.After(old) && (ok || len(st.revoked) < cluster.MaxRevoked) {
		st.revoked[id] = exp
		st.revokedNewsCame()
	}
	for c := range st.conns {
		if c.tokenID == id {
			c.closeLocked(cutRevoked)
		}
	}
}

// revokedSnapshot is the list of revocations to keep in Caddy's storage,
// for the API that revoked. Through a shared store the revocation it just
// made may reach this gateway after the snapshot is taken, and an older
// snapshot may be written after keepRevoked's newer one: keepRevoked writes
// the copy again after it.
func (st *State) revokedSnapshot() []byte {
	st.revokedNewsCame()
	return st.revokedJSON()
}

// revokedJSON is the list of revocations heard, as kept in storage.
func (st *State) revokedJSON() []byte {
	st.mu.Lock()
	list := make(map[string]time.Time, len(st.revoked))
	for k, e := range st.revoked {
		list[k] = e
	}
	st.mu.Unlock()
	b, _ := json.Marshal(list)
	return b
}

// keepRevokedEvery paces the writing of the copy: news is written this
// long after it came, with whatever else came meanwhile, so that a burst
// of revocations (a copy holds up to cluster.MaxRevoked of them) costs one
// write, and a gateway writes its copy at most once per period. Real time:
// it paces storage, not the site's clock.
const keepRevokedEvery = 500 * time.Millisecond

// keepRevokedRetryMax caps the wait before writing the copy again after
// storage failed (or before the gateway gave its storage).
const keepRevokedRetryMax = 30 * time.Second

// revokedNewsCame tells keepRevoked that the copy lacks something.
func (st *State) revokedNewsCame() {
	if st.revokedNews == nil {
		return // an in-process store: the API copies its revocations
	}
	select {
	case st.revokedNews <- struct{}{}:
	default: // news waits already
	}
}

// keepRevoked writes the revocations heard to the latest gateway's
// storage, after news, until ctx ends; then, if news waits, once more.
func (st *State) keepRevoked(ctx context.Context) {
	defer close(st.keeperDone)
	wait, failing := keepRevokedEvery, false
	for {
		select {
		case <-ctx.Done():
			select {
			case <-st.revokedNews:
				st.writeRevoked()
			default:
			}
			return
		case <-st.revokedNews:
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		// News that comes from here on is news for the next write.
		select {
		case <-st.revokedNews:
		default:
		}
		err := st.writeRevoked()
		switch {
		case err == nil:
			if failing {
				st.log().Info("keeping the revocation list again")
			}
			wait, failing = keepRevokedEvery, false
		default:
			if !failing && !errors.Is(err, errNoStorage) {
				st.log().Error("keeping the revocation list; trying again", zap.Error(err))
				failing = true
			}
			wait = min(2*wait, keepRevokedRetryMax)
			st.revokedNewsCame()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// errNoStorage: no gateway gave this State its storage yet.
var errNoStorage = errors.New("no storage yet")

// writeRevoked writes the copy of the revocations heard.
func (st *State) writeRevoked() error {
	keep := st.storage.Load()
	if keep == nil {
		return errNoStorage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*sharedTimeout)
	defer cancel()
	return (*keep).Store(ctx, revokedKey, st.revokedJSON())
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

// loadRevoked reads the persisted list, once, into a fresh State, and
// gives the shared store whatever of it the store does not know: a
// revocation never lapses because a store lost its data.
func (st *State) loadRevoked(ctx context.Context, s Store, log *zap.Logger) {
	st.mu.Lock()
	if st.revokedLoaded || s == nil {
		st.mu.Unlock()
		return
	}
	st.revokedLoaded = true
	m, ok := loadStored[map[string]time.Time](ctx, s, revokedKey, "the list of revoked tokens", log)
	now := st.clock.Now()
	for k, e := range m {
		if old, known := st.revoked[k]; ok && e.After(now) && e.After(old) && (known || len(st.revoked) < cluster.MaxRevoked) {
			st.revoked[k] = e
		}
	}
	st.mu.Unlock()
	st.recoverLost(ctx)
}

// restoreRevoked gives the shared store the revocations it lacks
// (recoverLost marks it restored after).
func (st *State) restoreRevoked(ctx context.Context) error {
	st.mu.Lock()
	list := make(map[string]time.Time, len(st.revoked))
	for k, e := range st.revoked {
		list[k] = e
	}
	st.mu.Unlock()
	restored := 0
	for id, exp := range list {
		known, err := st.shared.Revoked(ctx, id)
		if errors.Is(err, cluster.ErrReset) {
			known, err = false, nil
		}
		if err == nil && !known {
			err = st.shared.Revoke(ctx, id, exp)
			restored++
		}
		if err != nil {
			return err
		}
	}
	if restored > 0 {
		st.log().Info("gave the shared state back revocations it had lost", zap.Int("count", restored))
	}
	return nil
}

// sharedReset starts giving the shared store back what it lost, once at a
// time, when it answered that it lost its revocations (ErrReset).
func (st *State) sharedReset(err error) {
	if !errors.Is(err, cluster.ErrReset) || !st.restoring.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer st.restoring.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 4*sharedTimeout)
		defer cancel()
		st.noticeLoss(ctx)
		st.recoverLost(ctx)
	}()
}
