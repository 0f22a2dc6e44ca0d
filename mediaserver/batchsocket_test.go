package mediaserver

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

func udpPair(t *testing.T, b *bursts) (*batchSocket, *net.UDPConn, netip.AddrPort) {
	t.Helper()
	src, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close(); dst.Close() })
	s, err := newBatchSocket(src, b)
	if err != nil {
		t.Fatal(err)
	}
	b.sockets = append(b.sockets, s)
	return s, dst, dst.LocalAddr().(*net.UDPAddr).AddrPort()
}

// pending reads what has arrived at c within wait.
func pending(c *net.UDPConn, wait time.Duration) []string {
	var got []string
	buf := make([]byte, 1500)
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if err != nil {
			return got
		}
		got = append(got, string(buf[:n]))
	}
}

func TestBurstWritesGoOutWhenTheLastBurstEnds(t *testing.T) {
	b := &bursts{}
	s, dst, to := udpPair(t, b)

	s.WriteToAddrPort([]byte("alone"), to)
	if got := pending(dst, time.Second); len(got) != 1 || got[0] != "alone" {
		t.Fatalf("a write outside any burst: received %q, want it at once", got)
	}

	b.begin()
	s.WriteToAddrPort([]byte("a1"), to)
	b.begin() // another track's burst overlaps
	s.WriteToAddrPort([]byte("b1"), to)
	s.WriteToAddrPort([]byte("a2"), to)
	if got := pending(dst, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("received %q while bursts were open", got)
	}
	b.end()
	if got := pending(dst, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("received %q while one burst was still open", got)
	}
	b.end()
	if got := pending(dst, time.Second); len(got) != 3 || got[0] != "a1" || got[1] != "b1" || got[2] != "a2" {
		t.Fatalf("after the bursts: received %q, want a1 b1 a2 in order", got)
	}
}

func TestABurstLargerThanABatchLosesNothing(t *testing.T) {
	b := &bursts{}
	s, dst, to := udpPair(t, b)
	b.begin()
	for range 3*batchSize + 5 {
		s.WriteToAddrPort(make([]byte, 100), to)
	}
	b.end()
	if got := pending(dst, time.Second); len(got) != 3*batchSize+5 {
		t.Fatalf("received %d of %d", len(got), 3*batchSize+5)
	}
}
