//go:build !unix

package turnserver

import "net"

// listenUDP opens one UDP socket on addr.
func listenUDP(addr string) ([]net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	sizeBuffers(pc)
	return []net.PacketConn{pc}, nil
}
