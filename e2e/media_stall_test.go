package e2e

import (
	"net"
	"sync"
	"testing"
	"time"
)

// stallableConn is a UDP socket whose reader can be stopped, as if its
// program stopped reading: the kernel buffer fills and packets drop there.
type stallableConn struct {
	net.PacketConn
	mu     sync.Mutex
	resume chan struct{} // non-nil while stalled
}

func (c *stallableConn) stall() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resume == nil {
		c.resume = make(chan struct{})
	}
}

func (c *stallableConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	r := c.resume
	c.mu.Unlock()
	if r != nil {
		<-r
	}
	return c.PacketConn.ReadFrom(b)
}

func (c *stallableConn) Close() error {
	c.mu.Lock()
	if c.resume != nil {
		close(c.resume)
		c.resume = nil
	}
	c.mu.Unlock()
	return c.PacketConn.Close()
}

func TestAStalledSubscriberDoesNotSlowTheOthers(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	pub := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{})
	sent := publishAV(t, pub)

	udp, err := net.ListenPacket("udp4", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	stalled := &stallableConn{PacketConn: udp}
	t.Cleanup(func() { stalled.Close() })
	slow := receive(s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{conn: stalled}))
	fast := receive(s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{}))
	if !slow.hears(20, pub.ID()) || !fast.hears(20, pub.ID()) {
		t.Fatal("the subscribers did not receive before the stall")
	}

	stalled.stall()
	// Let what was already in flight drain, then measure a window.
	time.Sleep(500 * time.Millisecond)
	slowBefore, fastBefore, sentBefore := slow.count(pub.ID(), "video"), fast.count(pub.ID(), "video"), sent.count()
	time.Sleep(3 * time.Second)
	slowGot, fastGot, sentN := slow.count(pub.ID(), "video")-slowBefore, fast.count(pub.ID(), "video")-fastBefore, sent.count()-sentBefore

	if slowGot > 5 {
		t.Fatalf("the stalled subscriber still got %d packets: the stall did not happen", slowGot)
	}
	if float64(fastGot) < 0.9*float64(sentN) {
		t.Fatalf("the other subscriber got %d of %d packets sent during the stall", fastGot, sentN)
	}
	t.Logf("during the stall: sent %d, stalled subscriber %d, other subscriber %d", sentN, slowGot, fastGot)
}
