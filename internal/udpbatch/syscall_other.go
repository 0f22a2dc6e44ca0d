//go:build !linux

package udpbatch

import (
	"net"
	"net/netip"
)

// Batch is a set of datagrams for one UDP socket, written one by one where
// there is no sendmmsg.
type Batch struct {
	conn *net.UDPConn
	size int
	n    int
	bufs [][]byte
	to   []netip.AddrPort
}

// New makes a batch of at most size datagrams for conn.
func New(conn *net.UDPConn, size int) (*Batch, error) {
	b := &Batch{conn: conn, size: size, bufs: make([][]byte, size), to: make([]netip.AddrPort, size)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, 0, MaxDatagram)
	}
	return b, nil
}

func (b *Batch) add(p []byte, to netip.AddrPort) {
	b.bufs[b.n] = append(b.bufs[b.n][:0], p...)
	b.to[b.n] = to
}

func (b *Batch) send() int {
	sent := 0
	for i := range b.n {
		if _, err := b.conn.WriteToUDPAddrPort(b.bufs[i], b.to[i]); err == nil {
			sent++
		}
	}
	return sent
}

// Reader reads a UDP socket.
type Reader struct {
	conn *net.UDPConn
}

// NewReader makes a Reader of conn.
func NewReader(conn *net.UDPConn) (*Reader, error) { return &Reader{conn: conn}, nil }

// ReadFrom reads one datagram into p.
func (r *Reader) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	return r.conn.ReadFromUDPAddrPort(p)
}
