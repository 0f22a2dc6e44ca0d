package gateway

import (
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

// The per-room and per-address indexes follow every connection in and out:
// counts are right while people are connected, and nothing is left behind
// once they are gone.
func TestConnectionIndexesFollowJoinsAndLeaves(t *testing.T) {
	st := NewState(nil, Sharing{})
	mk := func(room, addr string, lobby bool) *liveConn {
		c := &liveConn{room: room, addrKey: addr, lobby: lobby, cancel: func() {}}
		st.mu.Lock()
		st.trackLocked(c, time.Time{})
		st.mu.Unlock()
		return c
	}
	a := mk("standup", "10.0.0.1", false)
	b := mk("standup", "10.0.0.2", false)
	k1 := mk("standup", "10.0.0.3", true)
	k2 := mk("retro", "10.0.0.3", true)
	other := mk("retro", "10.0.0.1", false)

	st.mu.Lock()
	if n := st.countLocked("standup", false); n != 2 {
		t.Errorf("standup has %d people, want 2", n)
	}
	if n := st.countLocked("standup", true); n != 1 {
		t.Errorf("standup's lobby has %d, want 1", n)
	}
	if n := st.lobbyFromLocked("10.0.0.3"); n != 2 {
		t.Errorf("10.0.0.3 waits in %d lobbies, want 2", n)
	}
	a.closeLocked() // cut, not yet released: no longer counted in the room
	if n := st.countLocked("standup", false); n != 1 {
		t.Errorf("after a cut, standup has %d people, want 1", n)
	}
	st.mu.Unlock()

	for _, c := range []*liveConn{a, b, k1, k2, other, a} { // a twice: release is idempotent
		st.release(c, 0)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.conns) != 0 || len(st.byRoom) != 0 || len(st.perAddr) != 0 || len(st.lobbyPerAddr) != 0 {
		t.Errorf("left behind: %d conns, rooms %v, addresses %v, lobby addresses %v",
			len(st.conns), st.byRoom, st.perAddr, st.lobbyPerAddr)
	}
}
