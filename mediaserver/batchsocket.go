package mediaserver

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/roomgate/roomgate/internal/udpbatch"
)

// Media is sent in bursts: one published packet becomes a packet to every
// subscriber, all written by the track's forwarding goroutine in one loop.
// The writes of a burst are gathered and sent with sendmmsg when it ends,
// by the goroutine that wrote them: one system call for many packets, and
// no timer or flusher goroutine to wake (pion's BatchConn woke its flusher
// every half millisecond per socket and handed every batch to it).
const batchSize = 64 // the most one sendmmsg carries

// bursts counts the bursts being written, across all sockets of an engine.
// While one is open, writes to the media sockets wait in their batches;
// whoever ends the last open burst sends them.
type bursts struct {
	open    atomic.Int32
	sockets []*batchSocket // fixed once the engine is built
}

// begin opens a burst; end must follow, from the same goroutine.
func (b *bursts) begin() { b.open.Add(1) }

// end closes a burst and, when no other is open, sends what waits.
func (b *bursts) end() {
	if b.open.Add(-1) == 0 {
		for _, s := range b.sockets {
			s.flush()
		}
	}
}

// batchSocket is one media UDP socket. It offers the netip.AddrPort
// methods the ICE mux prefers.
type batchSocket struct {
	*net.UDPConn
	bursts *bursts

	r     *udpbatch.Reader
	mu    sync.Mutex // guards batch
	batch *udpbatch.Batch
}

func newBatchSocket(conn *net.UDPConn, b *bursts) (*batchSocket, error) {
	batch, err := udpbatch.New(conn, batchSize)
	if err != nil {
		return nil, err
	}
	r, err := udpbatch.NewReader(conn)
	if err != nil {
		return nil, err
	}
	return &batchSocket{UDPConn: conn, bursts: b, batch: batch, r: r}, nil
}

func (s *batchSocket) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return s.r.ReadFrom(b)
}

// WriteToAddrPort sends at once outside a burst, and otherwise queues the
// datagram for the burst's end.
func (s *batchSocket) WriteToAddrPort(b []byte, ap netip.AddrPort) (int, error) {
	if s.bursts.open.Load() == 0 {
		return s.WriteToUDPAddrPort(b, ap)
	}
	s.mu.Lock()
	if s.batch.Full() {
		s.batch.Send()
	}
	queued := s.batch.Add(b, ap)
	s.mu.Unlock()
	if !queued { // not a datagram this socket can send: let it say why
		return s.WriteToUDPAddrPort(b, ap)
	}
	// The last burst may have ended, and sent, while this one was queued.
	if s.bursts.open.Load() == 0 {
		s.flush()
	}
	return len(b), nil
}

// WriteTo is what the ICE mux uses for addresses it has no AddrPort for.
func (s *batchSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	if a, ok := addr.(*net.UDPAddr); ok {
		return s.WriteToAddrPort(b, a.AddrPort())
	}
	return s.UDPConn.WriteTo(b, addr)
}

func (s *batchSocket) flush() {
	s.mu.Lock()
	s.batch.Send()
	s.mu.Unlock()
}

var _ ice.AddrPortReaderWriter = (*batchSocket)(nil)

// newBatchUDPMux opens port on every local address keep admits (loopback
// only when asked) and muxes all peers' ICE over those sockets.
func newBatchUDPMux(port int, keep func(net.IP) bool, loopback bool, b *bursts) (*ice.MultiUDPMuxDefault, error) {
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
			s, err := newBatchSocket(conn, b)
			if err != nil {
				conn.Close()
				closeAll()
				return nil, err
			}
			b.sockets = append(b.sockets, s)
			muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: s}))
		}
	}
	if len(muxes) == 0 {
		return nil, fmt.Errorf("no local address to listen on for port %d", port)
	}
	return ice.NewMultiUDPMuxDefault(muxes...), nil
}
