package turnserver

import (
	"net"
	"net/netip"

	"github.com/roomgate/roomgate/internal/udpbatch"
)

// readBatch is how many datagrams one recvmmsg may return.
const readBatch = 32

// batchReader is a listening UDP socket whose reads come from recvmmsg:
// pion's read loop calls ReadFrom once per datagram, and under load most
// of those calls are served from the last batch, without a system call or
// a trip through the poller. Its system calls are made as udpbatch makes
// them, without waking the runtime's monitor thread. Writes go straight to
// the socket. Only the one read loop of the socket reads, so the batch
// needs no lock.
type batchReader struct {
	*net.UDPConn
	r          *udpbatch.Reader
	bufs       [][]byte
	sizes      []int
	from       []netip.AddrPort
	have, next int

	// Relay writes waiting for the next read (see queue).
	queues []*relaySocket
	out    [][]byte
	queued int
}

func newBatchReader(c *net.UDPConn) (*batchReader, error) {
	r, err := udpbatch.NewReader(c)
	if err != nil {
		return nil, err
	}
	b := &batchReader{UDPConn: c, r: r, bufs: make([][]byte, readBatch), sizes: make([]int, readBatch),
		from: make([]netip.AddrPort, readBatch), out: make([][]byte, maxQueued)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, 1600)
	}
	return b, nil
}

func (b *batchReader) ReadFrom(p []byte) (int, net.Addr, error) {
	for b.next >= b.have { // recvmmsg returns at least one, or an error
		if b.queued > 0 {
			b.flush()
		}
		n, err := b.r.ReadMany(b.bufs, b.sizes, b.from)
		if err != nil {
			return 0, nil, err
		}
		b.have, b.next = n, 0
	}
	i := b.next
	b.next++
	return copy(p, b.bufs[i][:b.sizes[i]]), net.UDPAddrFromAddrPort(b.from[i]), nil
}

// The relay writes that pion makes while it handles one batch of reads are
// queued here and sent with sendmmsg, one call per relay socket, before the
// read loop asks the kernel for more: no timer, and no packet waits longer
// than the rest of its batch takes to handle. Only the read loop queues
// (pion writes to a relay synchronously from it), so no lock is needed.

// maxQueued bounds what waits for the next flush; relayBatch is the most
// one relay socket's sendmmsg carries.
const (
	maxQueued  = 2 * readBatch
	relayBatch = 16
)

// queue copies p for sending to `to` through a relay socket.
func (b *batchReader) queue(rs *relaySocket, p []byte, to netip.AddrPort) {
	if rs.batch == nil { // made on first use: most allocations are idle
		batch, err := udpbatch.New(rs.conn, relayBatch)
		if err != nil {
			rs.conn.WriteToUDPAddrPort(p, to)
			return
		}
		rs.batch = batch
	}
	if rs.batch.Full() {
		rs.batch.Send()
	}
	if b.out[b.queued] == nil {
		b.out[b.queued] = make([]byte, udpbatch.MaxDatagram)
	}
	buf := b.out[b.queued][:copy(b.out[b.queued][:cap(b.out[b.queued])], p)]
	if len(buf) < len(p) || !rs.batch.Queue(buf, to) {
		rs.conn.WriteToUDPAddrPort(p, to) // one the batch cannot take: the socket says why
		return
	}
	if rs.batch.Len() == 1 {
		b.queues = append(b.queues, rs)
	}
	b.queued++
	if b.queued >= maxQueued {
		b.flush()
	}
}

// flush sends everything queued.
func (b *batchReader) flush() {
	for _, rs := range b.queues {
		rs.batch.Send() // UDP: what the kernel will not take is lost, as with a plain write
	}
	clear(b.queues)
	b.queues = b.queues[:0]
	b.queued = 0
}

// relaySocket is what a batching relay needs of its socket.
type relaySocket struct {
	conn  *net.UDPConn
	r     *udpbatch.Reader
	batch *udpbatch.Batch // of its writes; only the listener's read loop uses it
}

func newRelaySocket(c *net.UDPConn) (*relaySocket, error) {
	r, err := udpbatch.NewReader(c)
	if err != nil {
		return nil, err
	}
	return &relaySocket{conn: c, r: r}, nil
}
