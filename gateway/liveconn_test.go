package gateway

import (
	"context"
	"github.com/roomgate/roomgate/cluster"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// byteConn writes one byte at a time, yielding between bytes, the way a
// large write can be cut into pieces: two unsynchronized writers interleave.
type byteConn struct {
	net.Conn
	mu  sync.Mutex
	out strings.Builder
}

func (c *byteConn) Write(p []byte) (int, error) {
	for _, b := range p {
		c.mu.Lock()
		c.out.WriteByte(b)
		c.mu.Unlock()
		runtime.Gosched()
	}
	return len(p), nil
}

// The hijacked connection handed to reverse_proxy must not offer ReadFrom or
// WriteTo (they bypass stream_buffer_size), and its writes must not
// interleave.
func TestStreamConnHidesCopyShortcutsAndSerializesWrites(t *testing.T) {
	inner := &byteConn{}
	var c any = &streamConn{Conn: inner}
	if _, ok := c.(io.ReaderFrom); ok {
		t.Error("streamConn has ReadFrom")
	}
	if _, ok := c.(io.WriterTo); ok {
		t.Error("streamConn has WriteTo")
	}
	sc := c.(*streamConn)
	var wg sync.WaitGroup
	for _, msg := range []string{"aaaaaaaa", "bbbbbbbb"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				sc.Write([]byte(msg))
			}
		}()
	}
	wg.Wait()
	out := inner.out.String()
	for i := 0; i < len(out); i += 8 {
		if s := out[i : i+8]; s != "aaaaaaaa" && s != "bbbbbbbb" {
			t.Fatalf("interleaved writes at %d: %q", i, s)
		}
	}
}

// The per-room index follows every connection in and out, and the places
// connections took in the shared store are given back: nothing is left
// behind once people are gone.
func TestConnectionIndexAndPlacesFollowJoinsAndLeaves(t *testing.T) {
	mem := cluster.NewMemory(nil)
	st := NewState(nil, Sharing{Store: mem})
	mk := func(room, addr string, lobby bool) *liveConn {
		places := []cluster.Place{{Key: placeRoom + room}, {Key: placeAddr + addr}}
		if full, err := mem.Take(context.Background(), st.holder, places); full != "" || err != nil {
			t.Fatalf("take: %q %v", full, err)
		}
		c := &liveConn{room: room, places: places, lobby: lobby, cancel: func() {}}
		st.mu.Lock()
		st.trackLocked(c, time.Time{})
		st.mu.Unlock()
		return c
	}
	a := mk("standup", "10.0.0.1", false)
	b := mk("standup", "10.0.0.2", false)
	k := mk("retro", "10.0.0.3", true)
	st.mu.Lock()
	if n := len(st.byRoom["standup"]); n != 2 {
		t.Errorf("standup has %d connections, want 2", n)
	}
	st.mu.Unlock()
	// A room of two is full for a third.
	if full, _ := mem.Take(context.Background(), st.holder, []cluster.Place{{Key: placeRoom + "standup", Limit: 2}}); full == "" {
		t.Error("standup's two places were not counted")
	}
	for _, c := range []*liveConn{a, b, k, a} { // a twice: release is idempotent
		st.release(c, 0)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.conns) != 0 || len(st.byRoom) != 0 {
		t.Errorf("left behind: %d conns, rooms %v", len(st.conns), st.byRoom)
	}
	for _, key := range []string{placeRoom + "standup", placeAddr + "10.0.0.1", placeAddr + "10.0.0.3"} {
		if full, _ := mem.Take(context.Background(), st.holder, []cluster.Place{{Key: key, Limit: 1}}); full != "" {
			t.Errorf("%s was not given back", key)
		}
	}
}
