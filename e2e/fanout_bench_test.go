package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/load"
)

// BenchmarkFanoutServerCPU measures the roomgate process's CPU time and heap
// allocations per forwarded packet, with one publisher and 20 subscribers
// (pion peers in this process, the server in its own). b.N is the number of
// video packets published, at 1000 a second:
//
//	go test ./e2e -run XXX -bench FanoutServerCPU -benchtime 10000x
//
// With ROOMGATE_BENCH_PROFILE=prefix it also writes the server's CPU and
// allocation profiles of the measured run to prefix.cpu and prefix.allocs,
// for `go tool pprof`.
func BenchmarkFanoutServerCPU(b *testing.B) {
	const subscribers = 20
	s := newMediaSite(b, "")
	pub := s.person(b, "127.0.0.1").mustJoin("bench", joinOpts{})
	var recv []*receiver
	for i := range subscribers {
		c := s.person(b, fmt.Sprintf("127.0.1.%d", i+1)).mustJoin("bench", joinOpts{})
		recv = append(recv, receive(c))
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "cam")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pub.Publish(b.Context(), video); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1000)
	payload[0] = 0x10
	seq := uint16(0)
	write := func() {
		video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: payload})
		seq++
	}
	// Warm up until every subscriber receives.
	warm, warmed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(warmed)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-warm:
				return
			case <-tick.C:
				write()
			}
		}
	}()
	for _, r := range recv {
		if !r.waitFor(20*time.Second, func() bool { return r.count(pub.ID(), "video") > 0 }) {
			b.Fatal("a subscriber receives nothing")
		}
	}
	close(warm)
	<-warmed
	time.Sleep(300 * time.Millisecond) // let the warm-up packets land before counting
	total := func() (n int) {
		for _, r := range recv {
			n += r.count(pub.ID(), "video")
		}
		return n
	}
	startFwd, startCPU, startMallocs := total(), processCPU(b, s.Pid()), mallocs(b, s.AdminAddr)
	b.ResetTimer()
	profiled := profileServer(b, s.AdminAddr, time.Duration(b.N)*time.Millisecond)
	tick := time.NewTicker(10 * time.Millisecond)
	for sent := 0; sent < b.N; {
		<-tick.C
		for range min(10, b.N-sent) {
			write()
			sent++
		}
	}
	tick.Stop()
	// Let the last packets arrive.
	want := startFwd + subscribers*b.N
	recv[0].waitFor(2*time.Second, func() bool { return total() >= want })
	b.StopTimer()
	<-profiled
	forwarded := total() - startFwd
	cpu := processCPU(b, s.Pid()) - startCPU
	allocs := mallocs(b, s.AdminAddr) - startMallocs
	if forwarded == 0 {
		b.Fatal("nothing was forwarded")
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(forwarded), "server-µs/fwd-pkt")
	b.ReportMetric(float64(allocs)/float64(forwarded), "server-allocs/fwd-pkt")
	b.ReportMetric(100*(1-float64(forwarded)/float64(subscribers*b.N)), "loss-%")
}

// profileServer fetches the server's CPU and allocation profiles for d into
// files named from ROOMGATE_BENCH_PROFILE, if set; the channel closes when
// they are written.
func profileServer(tb testing.TB, admin string, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	prefix := os.Getenv("ROOMGATE_BENCH_PROFILE")
	if prefix == "" || d < time.Second {
		close(done)
		return done
	}
	var wg sync.WaitGroup
	for _, kind := range []string{"profile", "allocs"} {
		wg.Go(func() {
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", admin, kind, int(d.Seconds())))
			if err != nil {
				tb.Error(err)
				return
			}
			defer resp.Body.Close()
			name := prefix + ".cpu"
			if kind == "allocs" {
				name = prefix + ".allocs"
			}
			f, err := os.Create(name)
			if err != nil {
				tb.Error(err)
				return
			}
			defer f.Close()
			io.Copy(f, resp.Body)
		})
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

// processCPU is the user and system CPU time a process has used, from /proc.
func processCPU(tb testing.TB, pid int) time.Duration {
	d, err := load.ProcessCPU(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// memstats is the process's Go memory statistics, from its admin expvar.
type memstatsVars struct {
	Mallocs, HeapInuse, StackInuse uint64
}

func memstats(tb testing.TB, admin string) memstatsVars {
	resp, err := http.Get("http://" + admin + "/debug/vars")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Memstats memstatsVars }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		tb.Fatal(err)
	}
	return v.Memstats
}

// mallocs is the process's count of heap allocations.
func mallocs(tb testing.TB, admin string) uint64 { return memstats(tb, admin).Mallocs }
