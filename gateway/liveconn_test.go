package gateway

import (
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
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
