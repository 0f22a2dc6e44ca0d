package turnserver

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// readBatch is how many datagrams one recvmmsg may return.
const readBatch = 32

// batchReader is a listening UDP socket whose reads come from recvmmsg:
// pion's read loop calls ReadFrom once per datagram, and under load most
// of those calls are served from the last batch, without a system call or
// a trip through the poller. Writes go straight to the socket. Only the
// one read loop of the socket reads, so the batch needs no lock.
type batchReader struct {
	*net.UDPConn
	read       func([]ipv4.Message, int) (int, error)
	msgs       []ipv4.Message
	have, next int

	// Relay writes waiting for the next read (see queue).
	queues []*relayQueue
	bufs   [][]byte
	queued int
}

func newBatchReader(c *net.UDPConn) *batchReader {
	b := &batchReader{UDPConn: c, msgs: make([]ipv4.Message, readBatch)}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{make([]byte, 1600)}
	}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		b.read = ipv6.NewPacketConn(c).ReadBatch
	} else {
		b.read = ipv4.NewPacketConn(c).ReadBatch
	}
	return b
}

func (b *batchReader) ReadFrom(p []byte) (int, net.Addr, error) {
	if b.next >= b.have {
		if b.queued > 0 {
			b.flush()
		}
		n, err := b.read(b.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		b.have, b.next = n, 0
	}
	m := &b.msgs[b.next]
	b.next++
	return copy(p, m.Buffers[0][:m.N]), m.Addr, nil
}

// The relay writes that pion makes while it handles one batch of reads are
// queued here and sent with sendmmsg, one call per relay socket, before the
// read loop asks the kernel for more: no timer, and no packet waits longer
// than the rest of its batch takes to handle. Only the read loop queues
// (pion writes to a relay synchronously from it), so no lock is needed.

// maxQueued bounds what waits for the next flush.
const maxQueued = 2 * readBatch

// relayQueue is what waits for one relay socket.
type relayQueue struct {
	write func([]ipv4.Message, int) (int, error)
	msgs  []ipv4.Message
}

// queue copies p for sending to addr through a relay socket.
func (b *batchReader) queue(rs *relaySocket, p []byte, addr net.Addr) {
	q := rs.queue
	if len(q.msgs) == 0 {
		b.queues = append(b.queues, q)
	}
	if b.queued == len(b.bufs) {
		b.bufs = append(b.bufs, make([]byte, 1600))
	}
	buf := b.bufs[b.queued][:copy(b.bufs[b.queued][:cap(b.bufs[b.queued])], p)]
	b.queued++
	q.msgs = append(q.msgs, ipv4.Message{Buffers: [][]byte{buf}, Addr: addr})
	if b.queued >= maxQueued {
		b.flush()
	}
}

// flush sends everything queued.
func (b *batchReader) flush() {
	for _, q := range b.queues {
		for sent := 0; sent < len(q.msgs); {
			n, err := q.write(q.msgs[sent:], 0)
			if err != nil {
				break // UDP: what the kernel will not take is lost, as with a plain write
			}
			sent += n
		}
		clear(q.msgs)
		q.msgs = q.msgs[:0]
	}
	clear(b.queues)
	b.queues = b.queues[:0]
	b.queued = 0
}

// relaySocket is what a batching relay needs of its socket.
type relaySocket struct {
	queue *relayQueue
}

func newRelaySocket(c *net.UDPConn) *relaySocket {
	q := &relayQueue{}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		q.write = ipv6.NewPacketConn(c).WriteBatch
	} else {
		q.write = ipv4.NewPacketConn(c).WriteBatch
	}
	return &relaySocket{queue: q}
}
