package mediaserver

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5/udp"
)

// Media writes are sent in batches (sendmmsg): one system call carries many
// packets, where one per packet per subscriber was half the server's CPU.
const (
	batchSize     = 64
	batchInterval = time.Millisecond // the most a packet waits for its batch
	maxPeerAddrs  = 4096             // cached peer addresses per socket
)

// batchSocket is one UDP socket whose writes go through pion/transport's
// BatchConn. It offers the netip.AddrPort methods the ICE mux prefers, and
// keeps one *net.UDPAddr per peer address so that no write allocates.
type batchSocket struct {
	*udp.BatchConn
	conn *net.UDPConn

	mu    sync.Mutex
	addrs map[netip.AddrPort]*net.UDPAddr
}

func newBatchSocket(conn *net.UDPConn) *batchSocket {
	return &batchSocket{BatchConn: udp.NewBatchConn(conn, batchSize, batchInterval), conn: conn,
		addrs: map[netip.AddrPort]*net.UDPAddr{}}
}

func (s *batchSocket) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return s.conn.ReadFromUDPAddrPort(b)
}

func (s *batchSocket) WriteToAddrPort(b []byte, ap netip.AddrPort) (int, error) {
	return s.BatchConn.WriteTo(b, s.addr(ap))
}

func (s *batchSocket) addr(ap netip.AddrPort) *net.UDPAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.addrs[ap]
	if a == nil {
		if len(s.addrs) >= maxPeerAddrs {
			clear(s.addrs)
		}
		a = net.UDPAddrFromAddrPort(ap)
		s.addrs[ap] = a
	}
	return a
}

var _ ice.AddrPortReaderWriter = (*batchSocket)(nil)

// newBatchUDPMux opens port on every local address keep admits (loopback
// only when asked) and muxes all peers' ICE over those sockets.
func newBatchUDPMux(port int, keep func(net.IP) bool, loopback bool) (*ice.MultiUDPMuxDefault, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var muxes []ice.UDPMux
	closeAll := func() {
		for _, m := range muxes {
			m.Close()
		}
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || (iface.Flags&net.FlagLoopback != 0 && !loopback) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok || !keep(ipnet.IP) || ipnet.IP.IsLinkLocalUnicast() || (ipnet.IP.IsLoopback() && !loopback) {
				continue
			}
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ipnet.IP, Port: port})
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("listening on %s: %w", net.JoinHostPort(ipnet.IP.String(), fmt.Sprint(port)), err)
			}
			muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: newBatchSocket(conn)}))
		}
	}
	if len(muxes) == 0 {
		return nil, fmt.Errorf("no local address to listen on for port %d", port)
	}
	return ice.NewMultiUDPMuxDefault(muxes...), nil
}
