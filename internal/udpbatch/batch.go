// Package udpbatch sends many UDP datagrams with one system call, and reads
// them without waking the runtime.
//
// A Batch copies datagrams in until it is full or its owner sends it. On
// Linux the send is one sendmmsg, made without giving up the goroutine's
// processor (see send_linux.go); elsewhere it is one write per datagram.
// A Batch is not safe for concurrent use: its owner locks.
package udpbatch

import (
	"net"
	"net/netip"
)

// MaxDatagram is the largest datagram a Batch takes.
const MaxDatagram = 1500

// Add copies p, to be sent to `to`. It reports false, and copies nothing,
// when the batch is full or p is larger than MaxDatagram.
func (b *Batch) Add(p []byte, to netip.AddrPort) bool {
	if b.n == b.size || len(p) > MaxDatagram {
		return false
	}
	b.add(p, to)
	b.n++
	return true
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
