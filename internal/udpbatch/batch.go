// Package udpbatch sends many UDP datagrams with one system call, and reads
// them without waking the runtime.
//
// A Batch takes datagrams, copied (Add) or referenced (Queue), until it is
// full or its owner sends it. On Linux the send is one sendmmsg, made
// without giving up the goroutine's processor (see syscall_linux.go);
// elsewhere it is one write per datagram. A Reader reads one datagram or
// many (recvmmsg) the same way. Neither is safe for concurrent use.
package udpbatch

import (
	"net"
	"net/netip"
)

// MaxDatagram is the largest datagram a Batch takes.
const MaxDatagram = 1500

// Add copies p, to be sent to `to`. It reports false, and takes nothing,
// when the batch is full, p is larger than MaxDatagram, or `to` is of an
// address family the socket cannot send to: the caller then writes p
// itself, and meets the socket's own error.
func (b *Batch) Add(p []byte, to netip.AddrPort) bool {
	if !b.takes(p, to) {
		return false
	}
	b.add(b.buf(b.n, p), to)
	b.n++
	return true
}

// Queue is Add without the copy: p must not change until Send.
func (b *Batch) Queue(p []byte, to netip.AddrPort) bool {
	if !b.takes(p, to) {
		return false
	}
	b.add(p, to)
	b.n++
	return true
}

func (b *Batch) takes(p []byte, to netip.AddrPort) bool {
	return b.n < b.size && len(p) <= MaxDatagram && len(p) > 0 && (b.v6 || to.Addr().Unmap().Is4())
}

// buf copies p into slot i's own buffer, made on the slot's first use.
func (b *Batch) buf(i int, p []byte) []byte {
	if b.bufs[i] == nil {
		b.bufs[i] = new([MaxDatagram]byte)
	}
	return b.bufs[i][:copy(b.bufs[i][:], p)]
}

// Len is the number of datagrams waiting.
func (b *Batch) Len() int { return b.n }

// Full reports whether Add would refuse a datagram for want of room.
func (b *Batch) Full() bool { return b.n == b.size }

// Send sends what waits and empties the batch. UDP is lossy by nature, so
// a datagram the kernel refuses (a closed socket, an unreachable network)
// is dropped as a plain write would drop it; the ones after it still go.
// It returns how many were sent.
func (b *Batch) Send() int {
	if b.n == 0 {
		return 0
	}
	sent := b.send()
	b.n = 0
	return sent
}

// isIPv6 reports whether conn's datagrams need IPv6 socket addresses.
func isIPv6(conn *net.UDPConn) bool {
	a, ok := conn.LocalAddr().(*net.UDPAddr)
	return ok && a.IP.To4() == nil
}
