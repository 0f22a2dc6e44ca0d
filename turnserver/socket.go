package turnserver

import "net"

// socketBuffer is the kernel buffer asked for on each UDP socket: the
// default (about 200 KiB, some 150 full packets) overflows in the few
// milliseconds a busy machine may not schedule a read loop. The kernel
// caps it at net.core.rmem_max / wmem_max.
const socketBuffer = 4 << 20

func sizeBuffers(pc net.PacketConn) {
	if u, ok := pc.(interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}); ok {
		u.SetReadBuffer(socketBuffer)
		u.SetWriteBuffer(socketBuffer)
	}
}
