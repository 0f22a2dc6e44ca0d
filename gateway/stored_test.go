package gateway

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// memStore is a Store in memory.
type memStore map[string][]byte

func (m memStore) Load(_ context.Context, key string) ([]byte, error) {
	if b, ok := m[key]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func (m memStore) Store(_ context.Context, key string, value []byte) error {
	m[key] = value
	return nil
}

func TestDamagedStoredStateIsRefusedAndSaidSo(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	log := zap.New(core)
	s := memStore{revokedKey: []byte("{not json"), roomsKey: []byte(`[{"roomName":`)}
	st := NewState(nil, Sharing{})
	st.loadRevoked(context.Background(), s, log)
	st.loadRooms(context.Background(), s, log)
	if rooms, _ := st.rooms(context.Background()); len(st.revoked) != 0 || len(rooms) != 0 {
		t.Fatalf("damaged state was taken: %d revoked, %d rooms", len(st.revoked), len(rooms))
	}
	if n := logs.FilterMessage("stored state is damaged; starting without it").Len(); n != 2 {
		t.Fatalf("%d damage reports, want 2", n)
	}

	// Good state is taken, expired entries left out.
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	s = memStore{revokedKey: []byte(`{"a":"` + exp + `","b":"2000-01-01T00:00:00Z"}`),
		roomsKey: []byte(`[{"roomName":"board","privacy":"private"}]`)}
	st = NewState(nil, Sharing{})
	st.loadRevoked(context.Background(), s, log)
	st.loadRooms(context.Background(), s, log)
	ra, _ := st.shared.Revoked(context.Background(), "a")
	rb, _ := st.shared.Revoked(context.Background(), "b")
	board, _ := st.room(context.Background(), "board")
	if !ra || rb || board == nil || !strings.EqualFold(board.Privacy, "private") {
		t.Fatalf("loaded revoked a=%v b=%v, room %+v", ra, rb, board)
	}
}

// A revocation is never dropped: with the list at its bound, the API says
// the token was not revoked, and the token keeps working only because the
// caller was told.
func TestAFullRevocationListRefusesLoudly(t *testing.T) {
	r := newRig(t, Config{APIKey: "k0123456789abcdef"})
	exp := r.clock.Now().Add(time.Hour)
	for i := range cluster.MaxRevoked {
		if err := r.st.shared.Revoke(context.Background(), fmt.Sprint("t", i), exp); err != nil {
			t.Fatalf("filling the list at %d: %v", i, err)
		}
	}
	tok, _, err := r.g.issuer.Mint(accesstoken.Claims{Role: accesstoken.RolePeer, Room: "standup",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}})
	if err != nil {
		t.Fatal(err)
	}
	// As POST /api/v1/token/revoke does (restapi).
	admin := netip.MustParseAddr("127.0.0.1")
	if rf := r.g.Revoke(context.Background(), verified(t, r.g, tok), admin); rf == nil || rf.Status != 503 || rf.Code != "revocations_full" {
		t.Fatalf("revoking with a full list: %v", rf)
	}
	// Once entries expire, revocations go in again.
	r.clock.Advance(time.Hour + time.Second)
	exp2 := r.clock.Now().Add(time.Hour)
	tok2, _, _ := r.g.issuer.Mint(accesstoken.Claims{Role: accesstoken.RolePeer, Room: "standup",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp2)}})
	if rf := r.g.Revoke(context.Background(), verified(t, r.g, tok2), admin); rf != nil {
		t.Fatalf("revoking after the old entries expired: %v", rf)
	}
}
