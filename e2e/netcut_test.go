package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// netCut is a TCP relay on loopback between one process and a server, that
// a test can cut and heal: a network partition between two real processes,
// for one of them only.
type netCut struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newNetCut(t testing.TB, target string) *netCut {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &netCut{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() {
		ln.Close()
		n.setCut(true)
	})
	go n.serve()
	return n
}

func (n *netCut) addr() string { return n.ln.Addr().String() }

func (n *netCut) serve() {
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		go n.relay(c)
	}
}

func (n *netCut) relay(c net.Conn) {
	up, err := net.Dial("tcp", n.target)
	if err != nil {
		c.Close()
		return
	}
	n.mu.Lock()
	if n.cut {
		n.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	n.conns[c], n.conns[up] = struct{}{}, struct{}{}
	n.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
	n.mu.Lock()
	delete(n.conns, c)
	delete(n.conns, up)
	n.mu.Unlock()
}

// setCut cuts every connection through the relay and refuses new ones, or
// lets them through again.
func (n *netCut) setCut(cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = cut
	if cut {
		for c := range n.conns {
			c.Close()
		}
	}
}
