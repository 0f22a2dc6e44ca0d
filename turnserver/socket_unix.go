//go:build unix

package turnserver

import (
	"context"
	"net"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenUDP opens one UDP socket per CPU on addr with SO_REUSEPORT, so
// that the kernel spreads clients over several of pion's read loops (one
// per socket); a client's packets always land on the same socket, so its
// allocation is always found.
func listenUDP(addr string) ([]net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	n := runtime.GOMAXPROCS(0)
	var out []net.PacketConn
	for i := 0; i < n; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, c := range out {
				c.Close()
			}
			return nil, err
		}
		if i == 0 {
			// ":0" and the like: the others join the port the first got.
			addr = pc.LocalAddr().String()
		}
		sizeBuffers(pc)
		if u, ok := pc.(*net.UDPConn); ok {
			if pc, err = newBatchReader(u); err != nil {
				u.Close()
				for _, c := range out {
					c.Close()
				}
				return nil, err
			}
		}
		out = append(out, pc)
	}
	return out, nil
}
