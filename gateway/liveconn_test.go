package gateway

import (
	"io"
	"net"
	"sync"
	"testing"
)

// The hijacked connection handed to reverse_proxy must not offer ReadFrom or
// WriteTo (they bypass stream_buffer_size), and its writes must not
// interleave.
func TestStreamConnHidesCopyShortcutsAndSerializesWrites(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var c any = &streamConn{Conn: a}
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
			for range 100 {
				sc.Write([]byte(msg))
			}
		}()
	}
	buf := make([]byte, 8)
	for range 200 {
		if _, err := io.ReadFull(b, buf); err != nil {
			t.Fatal(err)
		}
		if s := string(buf); s != "aaaaaaaa" && s != "bbbbbbbb" {
			t.Fatalf("interleaved write: %q", s)
		}
	}
	wg.Wait()
}
