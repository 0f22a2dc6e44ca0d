package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/turn/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/internal/caddyrun"
)

// The TURN benchmarks measure roomgate's turn app beside coturn, each in a
// process of its own on loopback, driven by the same pion client code in
// this process:
//
//	go test ./e2e -run XXX -bench TURN -benchtime 1x -count 3
//
// Each run of a sub-benchmark is one timed measurement whatever b.N is
// (hence -benchtime 1x; -count repeats it; ns/op is only how long it
// took). coturn is Debian's package (apt-get install coturn); without
// /usr/bin/turnserver they skip.
//
// Everything shares the machine's cores: the clients, the sinks and the
// server. The figures are for comparing the two servers with each other on
// one machine, not absolute capacities.

const (
	coturnBinary = "/usr/bin/turnserver"
	// coturn's relay ports: clear of roomgate's (40000-40999) and of
	// FreePort's (20000-31999). More of them than roomgate has: coturn
	// frees a deleted allocation's relay port only some time later (up to
	// about a second, as observed), so with 1000 ports BenchmarkTURNAllocate
	// would run it out of ports (508 Cannot create socket) and measure the
	// size of the range, not the server. roomgate frees the port at once.
	coturnMinPort, coturnMaxPort = 41000, 48999

	benchTURNClients = 4
	benchTURNPayload = 1200
)

// benchTURNMagic starts every measured payload, so that the sinks count
// nothing else.
var benchTURNMagic = []byte("rgbench!")

// BenchmarkTURNRelay relays 1200-byte UDP payloads from 4 clients, each with
// an allocation of its own, through the server to 4 loopback sinks that
// count what arrives (they do not echo: the measure is one way, client →
// server → peer, the path of a relayed call's outgoing media).
//
// The senders are paced, and the total rate goes up in steps of 2 s
// (rampRates) until the server loses more than 5 % or the senders cannot
// reach the rate. It reports:
//
//   - Mbit/s, loss%: the received payload rate at the highest step lost at
//     most 1 % (the rate the server sustains), and that step's loss. With no
//     such step, 0 Mbit/s and the first step's loss.
//   - cpu-µs/pkt: the server process's CPU time (user+system, from
//     /proc/<pid>/stat) per packet received by the sinks, at the fixed
//     cpuRate step that both servers sustain, so that both are measured at
//     the same load (at higher rates a server wakes less often per packet).
//   - max-Mbit/s, max-loss%, max-cpu-µs/pkt: the same for 3 s with the
//     senders unpaced, as fast as they can write: the server is
//     overloaded, what it gets through is its ceiling on this machine
//     (where the senders compete with it for the cores).
//
// Where the senders could not reach a step's rate with nothing lost, the
// limit was the client, not the server: its Mbit/s is a lower bound. The
// log has every step, with the datagrams the kernel dropped at the
// server's receiving socket and at the sinks (which should be none).
//
// With ROOMGATE_BENCH_PROFILE=prefix, roomgate's CPU and allocation
// profiles of the cpuRate step go to prefix.cpu and prefix.allocs (the
// profiling costs the server some CPU in that step).
func BenchmarkTURNRelay(b *testing.B) {
	benchTURNServers(b, benchRelay)
}

// BenchmarkTURNAllocate makes allocations as fast as 4 concurrent workers
// can for 5 s: each in turn a fresh client on a fresh socket, Allocate
// (two transactions: the 401 that brings the nonce, then the authenticated
// request), then the relay closed (a Refresh with lifetime 0, which deletes
// the allocation on the server; pion sends it without waiting for the
// answer). It reports allocs/s (successful Allocates), cpu-µs/alloc (the
// server's CPU per allocation, deletion included), ms/alloc (the mean
// latency of Allocate) and failed (Allocates that failed).
func BenchmarkTURNAllocate(b *testing.B) {
	benchTURNServers(b, benchAllocate)
}

// turnUnderTest is a running TURN server: its port on 127.0.0.1, its
// process, and for roomgate its admin endpoint (for profiles).
type turnUnderTest struct {
	port, pid int
	admin     string
}

// benchTURNServers runs bench against roomgate and then against coturn,
// each started for it.
func benchTURNServers(b *testing.B, bench func(b *testing.B, s turnUnderTest)) {
	if _, err := os.Stat(coturnBinary); err != nil {
		b.Skipf("no coturn to compare with (%s: %v); install Debian's coturn package", coturnBinary, err)
	}
	b.Run("roomgate", func(b *testing.B) {
		in, port := newTURNOnly(b, "allow_peer 127.0.0.1/32")
		waitTURNAllocates(b, port, func() string { return in.Logs() })
		bench(b, turnUnderTest{port: port, pid: in.Pid(), admin: in.AdminAddr})
	})
	b.Run("coturn", func(b *testing.B) {
		port, pid := startCoturn(b)
		bench(b, turnUnderTest{port: port, pid: pid})
	})
}

// startCoturn runs coturn on 127.0.0.1 with the shared secret the turn app
// derives from testSecret, until the benchmark ends, and returns its port
// and pid once it allocates.
func startCoturn(b *testing.B) (port, pid int) {
	b.Helper()
	port = caddyrun.FreePort(b)
	dir := b.TempDir()
	logFile := filepath.Join(dir, "turnserver.log")
	cmd := exec.Command(coturnBinary, coturnArgs(port, dir)...)
	cmd.Dir = dir
	// Should this process die without its cleanups, coturn goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	logs := func() string {
		out, _ := os.ReadFile(logFile)
		return string(out)
	}
	waitTURNAllocates(b, port, logs)
	return port, cmd.Process.Pid
}

// coturnArgs is coturn's command line: no configuration file, TURN REST
// credentials under the same shared secret as roomgate's, loopback only,
// loopback peers allowed (coturn refuses them without
// --allow-loopback-peers, whatever --allowed-peer-ip says), no TLS, DTLS,
// CLI or RFC 5780, logs and its database in dir. Its relay threads are its
// default, one per core.
func coturnArgs(port int, dir string) []string {
	return []string{
		"-n",
		"--listening-ip=127.0.0.1", fmt.Sprintf("--listening-port=%d", port),
		"--relay-ip=127.0.0.1",
		fmt.Sprintf("--min-port=%d", coturnMinPort), fmt.Sprintf("--max-port=%d", coturnMaxPort),
		"--realm=" + turnRealm,
		"--use-auth-secret", "--static-auth-secret=" + accesstoken.TURNSharedSecret(accesstoken.Secret(testSecret)),
		"--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1",
		"--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780",
		"--no-stdout-log", "--log-file=" + filepath.Join(dir, "turnserver.log"), "--simple-log",
		"--pidfile=" + filepath.Join(dir, "turnserver.pid"),
		"--userdb=" + filepath.Join(dir, "turndb"),
	}
}

// waitTURNAllocates waits up to 20 s until the server on port allocates.
func waitTURNAllocates(b *testing.B, port int, logs func() string) {
	b.Helper()
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = allocateOnce(port, "127.0.0.1", "ready"); err == nil {
			return
		}
	}
	b.Fatalf("the TURN server on port %d does not allocate: %v\n%s", port, err, logs())
}

// allocateOnce makes one allocation with a fresh client on a fresh socket
// on from (an address of the loopback network) and deletes it.
func allocateOnce(port int, from, user string) error {
	conn, err := net.ListenPacket("udp4", net.JoinHostPort(from, "0"))
	if err != nil {
		return err
	}
	defer conn.Close()
	cred := turnCredential(user, time.Now().Add(10*time.Minute))
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: fmt.Sprintf("127.0.0.1:%d", port),
		Username:       cred.Username, Password: cred.Password, Conn: conn,
		RTO: 200 * time.Millisecond, LoggerFactory: quietLogs,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		return err
	}
	relay, err := c.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}

// udpSink counts the measured payloads it receives, and answers nothing.
type udpSink struct {
	conn         *net.UDPConn
	pkts, octets atomic.Int64
}

func newUDPSink(b *testing.B) *udpSink {
	b.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	// As deep a queue as the kernel gives (net.core.rmem_max), so that
	// what is lost is lost at the server, not here.
	c.SetReadBuffer(8 << 20)
	s := &udpSink{conn: c}
	b.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := c.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			if n == benchTURNPayload && bytes.HasPrefix(buf, benchTURNMagic) {
				s.pkts.Add(1)
				s.octets.Add(int64(n))
			}
		}
	}()
	return s
}

// relayFlow is one client's allocation and the sink it sends to.
type relayFlow struct {
	relay net.PacketConn
	sink  *udpSink
}

// relayStep is what one step of the measurement sent and received.
type relayStep struct {
	rate         float64 // target packets/s in all, 0 for unpaced
	sent, recv   int64
	octets       int64
	wall         time.Duration // sending time
	cpu, selfCPU time.Duration // the server's and this process's
	// busy is the CPU time the whole machine spent busy: much more than
	// cpu+selfCPU means something else ran (or interrupts took it).
	busy time.Duration
	// Datagrams the kernel dropped for a full receive queue: at the
	// server's sockets on its port (coturn has one per client there) and
	// at the sinks. What the sinks drop is this machine's doing, not the
	// server's; it should stay 0.
	serverDrops, sinkDrops int64
}

func (s relayStep) mbits() float64 { return float64(s.octets) * 8 / s.wall.Seconds() / 1e6 }

func (s relayStep) loss() float64 {
	if s.sent == 0 {
		return 100
	}
	return 100 * (1 - float64(s.recv)/float64(s.sent))
}

func (s relayStep) cpuPerPkt() float64 { return float64(s.cpu.Microseconds()) / float64(s.recv) }

func (s relayStep) String() string {
	target := "unpaced"
	if s.rate > 0 {
		target = fmt.Sprintf("%6.0f pkt/s", s.rate)
	}
	return fmt.Sprintf("%s: sent %7.0f pkt/s, received %7.0f pkt/s = %6.1f Mbit/s, loss %5.2f %% (dropped at the server's socket %d, at the sinks %d), server CPU %4.0f %% = %5.2f µs/pkt, client CPU %4.0f %%, machine busy %4.0f %%",
		target, float64(s.sent)/s.wall.Seconds(), float64(s.recv)/s.wall.Seconds(), s.mbits(), s.loss(),
		s.serverDrops, s.sinkDrops,
		100*s.cpu.Seconds()/s.wall.Seconds(), s.cpuPerPkt(), 100*s.selfCPU.Seconds()/s.wall.Seconds(),
		100*s.busy.Seconds()/s.wall.Seconds())
}

// rampRates are the total send rates of the paced steps, packets/s
// (10000 packets/s of 1200 bytes is 96 Mbit/s); cpuRate is the one at
// which cpu-µs/pkt is reported.
var rampRates = []float64{5000, 10000, 20000, 30000, 40000, 60000, 80000, 100000, 130000, 160000}

const cpuRate = 20000

func benchRelay(b *testing.B, srv turnUnderTest) {
	port := srv.port
	flows := make([]relayFlow, benchTURNClients)
	for i := range flows {
		cred := turnCredential(fmt.Sprintf("bench%d", i), time.Now().Add(time.Hour))
		relay, err := turnClient(b, port, cred.Username, cred.Password).Allocate()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { relay.Close() })
		flows[i] = relayFlow{relay: relay, sink: newUDPSink(b)}
	}
	// Warm up: the first packet creates the permission, and the client
	// binds a channel after it (sending Send indications meanwhile); go on
	// a little past the first arrival so that the channel is in use.
	var wg sync.WaitGroup
	for _, f := range flows {
		wg.Go(func() {
			payload := benchPayload()
			deadline := time.Now().Add(10 * time.Second)
			for f.sink.pkts.Load() == 0 && time.Now().Before(deadline) {
				f.relay.WriteTo(payload, f.sink.conn.LocalAddr())
				time.Sleep(20 * time.Millisecond)
			}
			for range 20 {
				f.relay.WriteTo(payload, f.sink.conn.LocalAddr())
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	for i, f := range flows {
		if f.sink.pkts.Load() == 0 {
			b.Fatalf("nothing came through the relay of client %d in 10 s", i)
		}
	}
	time.Sleep(200 * time.Millisecond)

	b.ResetTimer()
	var sustained, first, atCPU *relayStep
	for _, rate := range rampRates {
		profiled := closedChan
		if rate == cpuRate && srv.admin != "" {
			profiled = profileServer(b, srv.admin, 2*time.Second)
		}
		s := runRelayStep(b, flows, srv, rate, 2*time.Second)
		<-profiled
		b.Logf("%v", s)
		if first == nil {
			first = &s
		}
		if s.rate == cpuRate {
			atCPU = &s
		}
		if s.loss() <= 1 {
			sustained = &s
		}
		if s.loss() > 5 || float64(s.sent)/s.wall.Seconds() < 0.9*rate {
			break
		}
	}
	flat := runRelayStep(b, flows, srv, 0, 3*time.Second)
	b.Logf("%v", flat)
	b.StopTimer()

	if sustained != nil {
		b.ReportMetric(sustained.mbits(), "Mbit/s")
		b.ReportMetric(sustained.loss(), "loss%")
	} else {
		b.ReportMetric(0, "Mbit/s")
		b.ReportMetric(first.loss(), "loss%")
	}
	// Per packet only of packets that arrived: none, no figure.
	if atCPU != nil && atCPU.recv > 0 {
		b.ReportMetric(atCPU.cpuPerPkt(), "cpu-µs/pkt")
	}
	b.ReportMetric(flat.mbits(), "max-Mbit/s")
	b.ReportMetric(flat.loss(), "max-loss%")
	if flat.recv > 0 {
		b.ReportMetric(flat.cpuPerPkt(), "max-cpu-µs/pkt")
	}
}

var closedChan = func() <-chan struct{} { c := make(chan struct{}); close(c); return c }()

func benchPayload() []byte {
	p := make([]byte, benchTURNPayload)
	copy(p, benchTURNMagic)
	return p
}

// runRelayStep has every flow send at its share of rate (unpaced if 0) for
// d, waits for the stragglers, and counts.
func runRelayStep(b *testing.B, flows []relayFlow, srv turnUnderTest, rate float64, d time.Duration) relayStep {
	s := relayStep{rate: rate}
	sinkPorts := map[int]bool{}
	for _, f := range flows {
		sinkPorts[f.sink.conn.LocalAddr().(*net.UDPAddr).Port] = true
	}
	serverPort := map[int]bool{srv.port: true}
	serverDrops0, sinkDrops0 := udpDrops(b, serverPort), udpDrops(b, sinkPorts)
	recv0, octets0 := sinkTotals(flows)
	cpu0, self0, busy0 := processCPU(b, srv.pid), processCPU(b, os.Getpid()), machineBusy(b)
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, f := range flows {
		wg.Go(func() { sent.Add(pacedSend(f.relay, f.sink.conn.LocalAddr(), rate/float64(len(flows)), start.Add(d))) })
	}
	wg.Wait()
	s.wall = time.Since(start)
	time.Sleep(300 * time.Millisecond) // what is still queued arrives
	recv1, octets1 := sinkTotals(flows)
	s.sent, s.recv, s.octets = sent.Load(), recv1-recv0, octets1-octets0
	s.cpu, s.selfCPU, s.busy = processCPU(b, srv.pid)-cpu0, processCPU(b, os.Getpid())-self0, machineBusy(b)-busy0
	s.serverDrops, s.sinkDrops = udpDrops(b, serverPort)-serverDrops0, udpDrops(b, sinkPorts)-sinkDrops0
	return s
}

// machineBusy is the CPU time all cores have spent other than idle or
// waiting for I/O, from /proc/stat.
func machineBusy(b *testing.B) time.Duration {
	out, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	var ticks int64
	for i, f := range strings.Fields(line)[1:] {
		// user nice system idle iowait irq softirq steal guest guest_nice;
		// guest time is counted in user already.
		if i == 3 || i == 4 || i >= 8 {
			continue
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		ticks += n
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(ticks) * time.Second / clockTicks
}

// udpDrops is the kernel's count of datagrams dropped at the IPv4 UDP
// sockets bound to ports, from /proc/net/udp.
func udpDrops(b *testing.B, ports map[int]bool) (n int64) {
	out, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 13 {
			continue
		}
		_, hexPort, _ := strings.Cut(f[1], ":")
		port, err := strconv.ParseInt(hexPort, 16, 32)
		if err != nil || !ports[int(port)] {
			continue
		}
		drops, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		n += drops
	}
	return n
}

func sinkTotals(flows []relayFlow) (pkts, octets int64) {
	for _, f := range flows {
		pkts += f.sink.pkts.Load()
		octets += f.sink.octets.Load()
	}
	return pkts, octets
}

// pacedSend writes payloads through relay to to at rate packets/s until
// end, or as fast as it can if rate is 0, and returns how many it wrote.
// A sender that falls behind does not make up for more than 2 ms of it in
// one burst: a burst would be lost at the server's socket and measure
// the burst, not the server.
func pacedSend(relay net.PacketConn, to net.Addr, rate float64, end time.Time) (sent int64) {
	payload := benchPayload()
	if rate == 0 {
		for time.Now().Before(end) {
			for range 32 {
				if _, err := relay.WriteTo(payload, to); err == nil {
					sent++
				}
			}
		}
		return sent
	}
	maxBurst := max(1, rate*0.002)
	credit, last := 0.0, time.Now()
	for {
		now := time.Now()
		if !now.Before(end) {
			return sent
		}
		credit = min(credit+rate*now.Sub(last).Seconds(), maxBurst)
		last = now
		for ; credit >= 1; credit-- {
			if _, err := relay.WriteTo(payload, to); err == nil {
				sent++
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func benchAllocate(b *testing.B, srv turnUnderTest) {
	port, pid := srv.port, srv.pid
	const workers = 4
	const d = 5 * time.Second
	var ok, failed atomic.Int64
	var latency atomic.Int64 // ns, of the successful Allocates
	var errMu sync.Mutex
	var firstErr error
	cpu0, self0, busy0 := processCPU(b, pid), processCPU(b, os.Getpid()), machineBusy(b)
	b.ResetTimer()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				t0 := time.Now()
				// A source address that changes every time: the kernel
				// soon hands a closed socket's port to a new one, and
				// coturn keeps a deleted allocation's session for a while,
				// so on a single address a fresh client sometimes meets
				// the session of a former one (437 Allocation mismatch).
				// Real clients do not come from one address.
				from := fmt.Sprintf("127.0.%d.%d", w+1, i%254+1)
				if err := allocateOnce(port, from, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					failed.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					continue
				}
				latency.Add(int64(time.Since(t0)))
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	time.Sleep(300 * time.Millisecond) // the last deletions are handled
	b.StopTimer()
	cpu, self, busy := processCPU(b, pid)-cpu0, processCPU(b, os.Getpid())-self0, machineBusy(b)-busy0
	n := ok.Load()
	if firstErr != nil {
		b.Logf("%d Allocates failed, the first with: %v", failed.Load(), firstErr)
	}
	b.Logf("%d allocations in %v by %d workers, server CPU %.0f %%, client CPU %.0f %%, machine busy %.0f %%",
		n, wall.Round(time.Millisecond), workers, 100*cpu.Seconds()/wall.Seconds(), 100*self.Seconds()/wall.Seconds(), 100*busy.Seconds()/wall.Seconds())
	b.ReportMetric(float64(n)/wall.Seconds(), "allocs/s")
	if n > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/alloc")
		b.ReportMetric(float64(latency.Load())/float64(n)/1e6, "ms/alloc")
	}
	b.ReportMetric(float64(failed.Load()), "failed")
}
