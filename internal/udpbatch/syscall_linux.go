package udpbatch

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batch is a set of datagrams for one UDP socket, sent with sendmmsg. The
// message headers, addresses and buffers are laid out once and reused, so
// neither Add nor Send allocates once each slot has been used.
type Batch struct {
	rc   syscall.RawConn
	v6   bool
	size int
	n    int
	// The send in progress; fields, not a closure's variables, so that a
	// send allocates nothing.
	next, sent int
	sendFn     func(fd uintptr) bool // b.sendmmsg, bound once

	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for either family
	bufs  []*[MaxDatagram]byte    // Add's copies, made on first use
}

// New makes a batch of at most size datagrams for conn.
func New(conn *net.UDPConn, size int) (*Batch, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &Batch{rc: rc, v6: isIPv6(conn), size: size,
		hdrs: make([]unix.Mmsghdr, size), iovs: make([]unix.Iovec, size),
		names: make([]unix.RawSockaddrInet6, size), bufs: make([]*[MaxDatagram]byte, size)}
	b.sendFn = b.sendmmsg
	for i := range b.hdrs {
		h := &b.hdrs[i].Hdr
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	}
	return b, nil
}

func (b *Batch) add(p []byte, to netip.AddrPort) {
	i := b.n
	b.iovs[i].Base = unsafe.SliceData(p)
	b.iovs[i].SetLen(len(p))
	h := &b.hdrs[i].Hdr
	name := &b.names[i]
	if b.v6 {
		name.Family = unix.AF_INET6
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&name.Port))[:], to.Port())
		name.Addr = to.Addr().As16()
		h.Namelen = unix.SizeofSockaddrInet6
	} else {
		in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		in4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&in4.Port))[:], to.Port())
		in4.Addr = to.Addr().Unmap().As4()
		h.Namelen = unix.SizeofSockaddrInet4
	}
}

// send makes the sendmmsg calls with RawSyscall, which keeps the
// goroutine's processor: on a non-blocking socket sendmmsg never sleeps,
// it is CPU work (on loopback it even delivers each datagram into its
// receiver's socket), and a batch takes longer than the 20 µs after which
// the runtime hands the processor of a goroutine in a system call to
// another thread. That handoff, a thread woken for every batch, cost more
// than the batching saved. When the socket's buffer is full the poller
// waits for room as for any write.
func (b *Batch) send() int {
	b.next, b.sent = 0, 0
	b.rc.Write(b.sendFn)
	clear(b.iovs[:b.n]) // let go of queued buffers
	return b.sent
}

// sendmmsg is the poller's callback: false means wait until writable.
func (b *Batch) sendmmsg(fd uintptr) bool {
	for b.next < b.n {
		r, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd,
			uintptr(unsafe.Pointer(&b.hdrs[b.next])), uintptr(b.n-b.next), 0, 0, 0)
		switch {
		case errno == 0 && r > 0:
			b.next += int(r)
			b.sent += int(r)
		case errno == unix.EAGAIN:
			return false
		case errno == unix.EINTR:
		default:
			// An error is the first datagram's; so is sending none, which
			// the kernel should never do: drop it rather than spin.
			b.next++
		}
	}
	return true
}

// Reader reads a UDP socket with RawSyscall, for the same reason Batch
// sends with it: a read the poller found ready never sleeps, and every
// ordinary system call made as the process comes out of idle wakes the
// runtime's monitor thread, which then polls every 20 µs for a while: at a
// packet a millisecond, most of the time. A Reader is for one goroutine.
type Reader struct {
	rc syscall.RawConn
	// The read in progress, as fields so that a read allocates nothing.
	p      []byte
	n      int // bytes read
	from   netip.AddrPort
	err    error
	rsa    unix.RawSockaddrInet6 // large enough for either family
	alen   uint32
	recvFn func(fd uintptr) bool // r.recvfrom, bound once

	// ReadMany's recvmmsg headers, grown to the most buffers asked for.
	hdrs    []unix.Mmsghdr
	iovs    []unix.Iovec
	names   []unix.RawSockaddrInet6
	want    int                   // datagrams asked for
	got     int                   // datagrams read
	recvmFn func(fd uintptr) bool // r.recvmmsg, bound once
}

// NewReader makes a Reader of conn.
func NewReader(conn *net.UDPConn) (*Reader, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &Reader{rc: rc}
	r.recvFn, r.recvmFn = r.recvfrom, r.recvmmsg
	return r, nil
}

// ReadFrom reads one datagram into p, waiting for one in the poller.
func (r *Reader) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	r.p, r.n, r.from, r.err = p, 0, netip.AddrPort{}, nil
	if err := r.rc.Read(r.recvFn); err != nil {
		r.p = nil
		return 0, netip.AddrPort{}, err
	}
	r.p = nil
	return r.n, r.from, r.err
}

// recvfrom is the poller's callback: false means wait until readable.
func (r *Reader) recvfrom(fd uintptr) bool {
	r.alen = uint32(unsafe.Sizeof(r.rsa))
	got, ready := rawRead(&r.err, unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.p))),
		uintptr(len(r.p)), 0, uintptr(unsafe.Pointer(&r.rsa)), uintptr(unsafe.Pointer(&r.alen)))
	if ready && r.err == nil {
		r.n, r.from = int(got), addrPort(&r.rsa)
	}
	return ready
}

// rawRead makes a receiving system call, again when a signal interrupts it.
// It reports false when the socket has nothing yet, and otherwise returns
// what the call returned, with *err set if it failed.
func rawRead(err *error, trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, bool) {
	for {
		got, _, errno := unix.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
		switch errno {
		case 0:
			return got, true
		case unix.EAGAIN:
			return 0, false
		case unix.EINTR:
		default:
			*err = &net.OpError{Op: "read", Net: "udp", Err: errno}
			return 0, true
		}
	}
}

// ReadMany reads as many datagrams as arrived, up to len(bufs), with one
// recvmmsg, waiting in the poller while there are none. The i-th datagram
// is bufs[i][:sizes[i]], from from[i].
func (r *Reader) ReadMany(bufs [][]byte, sizes []int, from []netip.AddrPort) (int, error) {
	if len(r.hdrs) < len(bufs) {
		r.hdrs = make([]unix.Mmsghdr, len(bufs))
		r.iovs = make([]unix.Iovec, len(bufs))
		r.names = make([]unix.RawSockaddrInet6, len(bufs))
	}
	for i, b := range bufs {
		r.iovs[i].Base = unsafe.SliceData(b)
		r.iovs[i].SetLen(len(b))
		h := &r.hdrs[i].Hdr
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Namelen = uint32(unsafe.Sizeof(r.names[i]))
	}
	r.got, r.err, r.want = 0, nil, len(bufs)
	err := r.rc.Read(r.recvmFn)
	clear(r.iovs[:len(bufs)])
	if err != nil {
		return 0, err
	}
	for i := range r.got {
		sizes[i] = int(r.hdrs[i].Len)
		from[i] = addrPort(&r.names[i])
	}
	return r.got, r.err
}

// recvmmsg is ReadMany's callback for the poller.
func (r *Reader) recvmmsg(fd uintptr) bool {
	got, ready := rawRead(&r.err, unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.want),
		unix.MSG_DONTWAIT, 0, 0)
	r.got = int(got)
	return ready
}

// addrPort reads a socket address the kernel wrote.
func addrPort(rsa *unix.RawSockaddrInet6) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&rsa.Port))[:])
	if rsa.Family == unix.AF_INET {
		in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(rsa.Addr), port)
}
