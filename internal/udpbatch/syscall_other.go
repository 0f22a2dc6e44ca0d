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
	v6   bool
	bufs []*[MaxDatagram]byte // Add's copies
	p    [][]byte             // what is sent
	to   []netip.AddrPort
}

// New makes a batch of at most size datagrams for conn.
func New(conn *net.UDPConn, size int) (*Batch, error) {
	return &Batch{conn: conn, size: size, v6: isIPv6(conn), bufs: make([]*[MaxDatagram]byte, size),
		p: make([][]byte, size), to: make([]netip.AddrPort, size)}, nil
}

func (b *Batch) add(p []byte, to netip.AddrPort) {
	b.p[b.n], b.to[b.n] = p, to
}

func (b *Batch) send() int {
	sent := 0
	for i := range b.n {
		if _, err := b.conn.WriteToUDPAddrPort(b.p[i], b.to[i]); err == nil {
			sent++
		}
	}
	clear(b.p[:b.n])
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

// ReadMany reads one datagram into bufs[0].
func (r *Reader) ReadMany(bufs [][]byte, sizes []int, from []netip.AddrPort) (int, error) {
	n, a, err := r.conn.ReadFromUDPAddrPort(bufs[0])
	if err != nil {
		return 0, err
	}
	sizes[0], from[0] = n, a
	return 1, nil
}
