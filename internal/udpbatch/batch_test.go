package udpbatch

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

func listen(t *testing.T, network, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// receive reads n datagrams from c.
func receive(t *testing.T, c *net.UDPConn, n int) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	buf := make([]byte, 2000)
	for range n {
		k, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		got = append(got, fmt.Sprintf("%s from %d", buf[:k], from.Port()))
	}
	return got
}

func TestBatchSendsEveryDatagramToItsAddress(t *testing.T) {
	for _, tc := range []struct{ network, local, peer string }{
		{"udp4", "127.0.0.1:0", "127.0.0.1:0"},
		{"udp6", "[::1]:0", "[::1]:0"},
		{"udp", "[::]:0", "127.0.0.1:0"}, // a dual-stack socket sending to IPv4
	} {
		t.Run(tc.local+"->"+tc.peer, func(t *testing.T) {
			src := listen(t, tc.network, tc.local)
			a, b := listen(t, "udp", tc.peer), listen(t, "udp", tc.peer)
			port := uint16(src.LocalAddr().(*net.UDPAddr).Port)
			batch, err := New(src, 4)
			if err != nil {
				t.Fatal(err)
			}
			to := func(c *net.UDPConn) netip.AddrPort {
				return netip.AddrPortFrom(netip.MustParseAddrPort(tc.peer).Addr(), uint16(c.LocalAddr().(*net.UDPAddr).Port))
			}
			for i, c := range []*net.UDPConn{a, b, a, b} {
				if !batch.Add([]byte(fmt.Sprint("datagram ", i)), to(c)) {
					t.Fatalf("datagram %d refused by a batch of 4", i)
				}
			}
			if !batch.Full() || batch.Add([]byte("fifth"), to(a)) {
				t.Fatal("a full batch took a fifth datagram")
			}
			if n := batch.Send(); n != 4 {
				t.Fatalf("Send sent %d, want 4", n)
			}
			if batch.Len() != 0 {
				t.Fatalf("%d still waiting after Send", batch.Len())
			}
			want := func(i ...int) string {
				var s []string
				for _, i := range i {
					s = append(s, fmt.Sprintf("datagram %d from %d", i, port))
				}
				return fmt.Sprint(s)
			}
			if got := fmt.Sprint(receive(t, a, 2)); got != want(0, 2) {
				t.Errorf("a received %s, want %s", got, want(0, 2))
			}
			if got := fmt.Sprint(receive(t, b, 2)); got != want(1, 3) {
				t.Errorf("b received %s, want %s", got, want(1, 3))
			}
			// The batch is reused, and nothing of the first round is resent.
			batch.Add([]byte("again"), to(b))
			batch.Send()
			if got := receive(t, b, 1); got[0] != fmt.Sprintf("again from %d", port) {
				t.Errorf("second round: %s", got)
			}
		})
	}
}

func TestBatchDropsOnlyTheDatagramTheKernelRefuses(t *testing.T) {
	src := listen(t, "udp4", "127.0.0.1:0")
	dst := listen(t, "udp4", "127.0.0.1:0")
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	batch, err := New(src, 8)
	if err != nil {
		t.Fatal(err)
	}
	batch.Add([]byte("first"), to)
	// Port 0 is no destination: sendmmsg fails on this one.
	batch.Add([]byte("refused"), netip.AddrPortFrom(to.Addr(), 0))
	batch.Add([]byte("third"), to)
	if n := batch.Send(); n != 2 {
		t.Errorf("Send reports %d sent, want 2", n)
	}
	got := receive(t, dst, 2)
	for i, w := range []string{"first", "third"} {
		if !bytes.HasPrefix([]byte(got[i]), []byte(w+" ")) {
			t.Errorf("datagram %d is %q, want %q", i, got[i], w)
		}
	}
}

func TestBatchRefusesOversizedDatagrams(t *testing.T) {
	src := listen(t, "udp4", "127.0.0.1:0")
	batch, err := New(src, 2)
	if err != nil {
		t.Fatal(err)
	}
	if batch.Add(make([]byte, MaxDatagram+1), netip.MustParseAddrPort("127.0.0.1:9")) {
		t.Fatal("took a datagram over MaxDatagram")
	}
	if batch.Len() != 0 {
		t.Fatal("a refused datagram is waiting")
	}
}

func TestReadFromReturnsTheDatagramAndItsSender(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		dst := listen(t, "udp", addr)
		src := listen(t, "udp", addr)
		r, err := NewReader(dst)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(50 * time.Millisecond) // ReadFrom waits in the poller first
			src.WriteTo([]byte("hello"), dst.LocalAddr())
		}()
		buf := make([]byte, 100)
		n, from, err := r.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != "hello" || from != src.LocalAddr().(*net.UDPAddr).AddrPort() {
			t.Errorf("%s: read %q from %s, want hello from %s", addr, buf[:n], from, src.LocalAddr())
		}
		dst.Close()
		if _, _, err := r.ReadFrom(buf); err == nil {
			t.Errorf("%s: a read on a closed socket succeeded", addr)
		}
	}
}

func TestAddAndSendAllocateNothing(t *testing.T) {
	src := listen(t, "udp4", "127.0.0.1:0")
	dst := listen(t, "udp4", "127.0.0.1:0")
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	batch, err := New(src, 16)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 1000)
	allocs := testing.AllocsPerRun(100, func() {
		for range 16 {
			batch.Add(p, to)
		}
		batch.Send()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch of 16", allocs)
	}
}

func TestQueueSendsTheCallersBufferAndRefusesWhatTheSocketCannotSend(t *testing.T) {
	src := listen(t, "udp4", "127.0.0.1:0")
	dst := listen(t, "udp4", "127.0.0.1:0")
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	batch, err := New(src, 4)
	if err != nil {
		t.Fatal(err)
	}
	if batch.Add([]byte("x"), netip.MustParseAddrPort("[2001:db8::1]:9")) {
		t.Fatal("an IPv4 socket's batch took an IPv6 destination")
	}
	if batch.Add(nil, to) {
		t.Fatal("took an empty datagram")
	}
	p := []byte("queued")
	batch.Queue(p, to)
	batch.Send()
	if got := receive(t, dst, 1); !bytes.HasPrefix([]byte(got[0]), []byte("queued ")) {
		t.Fatalf("received %q", got)
	}
}

func TestReadManyReadsWhatArrivedInOneCall(t *testing.T) {
	dst := listen(t, "udp4", "127.0.0.1:0")
	src := listen(t, "udp4", "127.0.0.1:0")
	r, err := NewReader(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"one", "two", "three"} {
		src.WriteTo([]byte(m), dst.LocalAddr())
	}
	time.Sleep(50 * time.Millisecond)
	bufs := [][]byte{make([]byte, 100), make([]byte, 100), make([]byte, 100), make([]byte, 100)}
	sizes, from := make([]int, 4), make([]netip.AddrPort, 4)
	var got []string
	for len(got) < 3 {
		n, err := r.ReadMany(bufs, sizes, from)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if from[i] != src.LocalAddr().(*net.UDPAddr).AddrPort() {
				t.Errorf("datagram from %s, want %s", from[i], src.LocalAddr())
			}
			got = append(got, string(bufs[i][:sizes[i]]))
		}
	}
	if fmt.Sprint(got) != "[one two three]" {
		t.Errorf("read %q", got)
	}
	dst.Close()
	if _, err := r.ReadMany(bufs, sizes, from); err == nil {
		t.Error("a read on a closed socket succeeded")
	}
}
