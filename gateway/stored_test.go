package gateway

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

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
