package gateway

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
)

// lockedStore is a Store in memory that a background writer may use while
// the test reads it.
type lockedStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *lockedStore) Load(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.m[key]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func (s *lockedStore) Store(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = value
	return nil
}

// keptRevoked reads the revocations kept in s.
func (s *lockedStore) keptRevoked(t *testing.T) map[string]time.Time {
	t.Helper()
	b, err := s.Load(context.Background(), revokedKey)
	if err != nil {
		return nil
	}
	var m map[string]time.Time
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("the kept revocations are damaged: %v", err)
	}
	return m
}

// clusterGatewayOn is a gateway of a site whose shared state is mem (as
// Redis is shared), keeping its copy in a storage of its own.
func clusterGatewayOn(t *testing.T, mem cluster.Store) (*Gateway, *lockedStore) {
	t.Helper()
	st := NewState(nil, Sharing{Store: mem, Lease: time.Minute})
	t.Cleanup(func() { st.Destruct() })
	s := &lockedStore{}
	g, err := New(Config{
		APIKey: "k0123456789abcdef",
		Store:  s,
		ClientIP: func(r *http.Request) netip.Addr {
			ap, _ := netip.ParseAddrPort(r.RemoteAddr)
			return ap.Addr()
		},
	}, secret, st)
	if err != nil {
		t.Fatal(err)
	}
	return g, s
}

// Issue 23, item 2: a gateway keeps in its storage the revocations it
// heard of from the shared store, not only those made through its API; a
// store that lost its data is given them back by that gateway alone.
func TestEveryGatewayKeepsTheRevocationsItHears(t *testing.T) {
	mem := cluster.NewMemory(nil)
	g1, _ := clusterGatewayOn(t, mem)
	_, s2 := clusterGatewayOn(t, mem)

	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok, c, err := g1.issuer.Mint(accesstoken.Claims{Role: accesstoken.RolePeer, Room: "standup",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}})
	if err != nil {
		t.Fatal(err)
	}
	// As POST /api/v1/token/revoke does (restapi), through gateway 1.
	if rf := g1.Revoke(context.Background(), verified(t, g1, tok), netip.MustParseAddr("127.0.0.1")); rf != nil {
		t.Fatalf("revoke through gateway 1: %v", rf)
	}

	// Gateway 2 heard of it from the shared store, and keeps it.
	deadline := time.Now().Add(5 * time.Second)
	for !s2.keptRevoked(t)[c.ID].Equal(exp) {
		if time.Now().After(deadline) {
			t.Fatalf("gateway 2 keeps %v, not the revocation made through gateway 1", s2.keptRevoked(t))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Started alone on a shared store that lost everything, with gateway
	// 2's storage, a gateway gives the store the revocation back.
	st3 := NewState(nil, Sharing{Store: cluster.NewMemory(nil), Lease: time.Minute})
	defer st3.Destruct()
	st3.loadRevoked(context.Background(), s2, st3.log())
	if r, err := st3.shared.Revoked(context.Background(), c.ID); err != nil || !r {
		t.Fatalf("after a restart on an empty store from gateway 2's storage: revoked %v, %v", r, err)
	}
}

// A revocation heard again with an earlier expiry (a guess, after a
// resync) does not shorten the one known.
func TestARevocationHeardAgainIsNotShortened(t *testing.T) {
	st := NewState(nil, Sharing{})
	later := time.Now().Add(48 * time.Hour)
	st.mu.Lock()
	st.revokedHeardLocked("t1", later)
	st.revokedHeardLocked("t1", time.Now().Add(time.Hour))
	got := st.revoked["t1"]
	st.mu.Unlock()
	if !got.Equal(later) {
		t.Fatalf("the revocation now lasts until %v, not %v", got, later)
	}
}

// countingStore counts the writes of the kept revocations.
type countingStore struct {
	lockedStore
	writes int
}

func (s *countingStore) Store(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	if key == revokedKey {
		s.writes++
	}
	s.mu.Unlock()
	return s.lockedStore.Store(ctx, key, value)
}

// A burst of revocations heard costs a write or two, not one each, and
// what was heard last is written when the gateway stops.
func TestRevocationsHeardAreKeptInFewWritesAndAtStop(t *testing.T) {
	mem := cluster.NewMemory(nil)
	st := NewState(nil, Sharing{Store: mem, Lease: time.Minute})
	s := &countingStore{}
	if _, err := New(Config{Store: s, ClientIP: func(*http.Request) netip.Addr { return netip.Addr{} }}, secret, st); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	const n = 1000
	for i := range n {
		if err := mem.Revoke(context.Background(), "t"+strconv.Itoa(i), exp); err != nil {
			t.Fatal(err)
		}
	}
	st.Destruct()
	s.mu.Lock()
	writes := s.writes
	s.mu.Unlock()
	if kept := len(s.keptRevoked(t)); kept != n || writes < 1 || writes > 3 {
		t.Fatalf("%d revocations heard: %d kept in %d writes", n, kept, writes)
	}
}

// verified is tok's claims, as the API reads them before it revokes.
func verified(t *testing.T, g *Gateway, tok string) *accesstoken.Claims {
	t.Helper()
	c, err := g.Issuer().Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
