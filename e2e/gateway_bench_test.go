package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/internal/caddyrun"
)

// The gateway benchmarks put the same load on two sites of one roomgate
// process, both proxying to the same upstream: one through the roomgate
// handler (user_auth, so every signalling connection's token is verified,
// the room rules applied and an admission minted), one through plain
// reverse_proxy. The load alternates between them so that both see the
// same machine.
//
//	go test ./e2e -run XXX -bench Gateway -benchtime 1x -count 3

// benchUpstream echoes WebSocket messages and answers HTTP with a few bytes.
func benchUpstream(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			io.WriteString(w, "ok\n")
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"roomgate"}, InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if c.Write(context.Background(), typ, msg) != nil {
				return
			}
		}
	}))
	b.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// twoSites runs one roomgate with a gated site and a plain one in front of
// up, both proxying as the repository's Caddyfile does signalling.
func twoSites(b *testing.B, up string) (in *caddyrun.Instance, gated, plain int) {
	gated, plain = caddyrun.FreePort(b), caddyrun.FreePort(b)
	in = caddyrun.Start(b, fmt.Sprintf(`http://localhost:%d {
	roomgate {
		secret %s
		user_auth
		user alice %s
		# every connection of the benchmark comes from one address
		max_connections_per_address off
	}
	reverse_proxy %s {
		stream_buffer_size 4KiB
	}
}
http://localhost:%d {
	reverse_proxy %s {
		stream_buffer_size 4KiB
	}
}
`, gated, testSecret, testPasswordHash(b), up, plain, up))
	return in, gated, plain
}

// hammer runs workers doing op for d and returns how many ops succeeded.
func hammer(workers int, d time.Duration, op func() error) (ok, failed int64) {
	var wg sync.WaitGroup
	var okN, failN atomic.Int64
	stop := time.Now().Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if op() == nil {
					okN.Add(1)
				} else {
					failN.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return okN.Load(), failN.Load()
}

func BenchmarkGatewaySignallingUpgrades(b *testing.B) {
	up := benchUpstream(b)
	in, gated, plain := twoSites(b, up)
	tok := mintPeer(b, accesstoken.Claims{Room: "standup"})
	dial := func(port int, withToken bool) func() error {
		protos := []string{"roomgate"}
		if withToken {
			protos = append(protos, accesstoken.SubprotocolTokenPrefix+tok)
		}
		url := fmt.Sprintf("ws://localhost:%d/ws?room=standup", port)
		origin := http.Header{"Origin": {fmt.Sprintf("http://localhost:%d", port)}}
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protos, HTTPHeader: origin})
			if err != nil {
				return err
			}
			defer c.CloseNow()
			if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
				return err
			}
			_, _, err = c.Read(ctx)
			c.Close(websocket.StatusNormalClosure, "")
			return err
		}
	}
	compare(b, in, "upgrades/s", dial(gated, true), dial(plain, false))
}

func BenchmarkGatewayProxiedRequests(b *testing.B) {
	up := benchUpstream(b)
	in, gated, plain := twoSites(b, up)
	get := func(port int) func() error {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		url := fmt.Sprintf("http://localhost:%d/files/app.css", port)
		return func() error {
			res, err := client.Get(url)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s", res.Status)
			}
			return nil
		}
	}
	compare(b, in, "requests/s", get(gated), get(plain))
}

// compare runs the same load on the gated and the plain site, in turns,
// and reports both rates and their ratio. With ROOMGATE_BENCH_PROFILE set,
// the server's CPU profile of the first gated turn goes to that file.
func compare(b *testing.B, in *caddyrun.Instance, unit string, gated, plain func() error) {
	const workers, turn, turns = 32, 3 * time.Second, 2
	hammer(workers, time.Second, gated) // warm both up
	hammer(workers, time.Second, plain)
	if path := os.Getenv("ROOMGATE_BENCH_PROFILE"); path != "" {
		go func() {
			res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", in.AdminAddr, int(turn.Seconds())-1))
			if err != nil {
				return
			}
			defer res.Body.Close()
			if f, err := os.Create(path); err == nil {
				io.Copy(f, res.Body)
				f.Close()
			}
		}()
	}
	var g, p, gf, pf int64
	for range turns {
		ok, failed := hammer(workers, turn, gated)
		g, gf = g+ok, gf+failed
		ok, failed = hammer(workers, turn, plain)
		p, pf = p+ok, pf+failed
	}
	secs := (turn * turns).Seconds()
	b.ReportMetric(float64(g)/secs, "gated-"+unit)
	b.ReportMetric(float64(p)/secs, "plain-"+unit)
	b.ReportMetric(float64(g)/float64(p), "ratio")
	b.ReportMetric(float64(gf+pf), "failed")
}

// rssKiB is a process's resident memory.
func rssKiB(b *testing.B, pid int) int64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkIdleSignalling holds ROOMGATE_BENCH_CONNS (default 5,000) idle
// signalling WebSockets, each carrying one message, and reports the
// server's memory per connection: through the gateway (each admitted with a
// token), and through plain reverse_proxy to the same upstream, each in a
// server of its own, so that the gateway's share stands apart from Caddy's.
func BenchmarkIdleSignalling(b *testing.B) {
	for _, site := range []string{"gated", "plain"} {
		b.Run(site, func(b *testing.B) {
			up := benchUpstream(b)
			in, gated, plain := twoSites(b, up)
			port := gated
			if site == "plain" {
				port = plain
			}
			holdIdle(b, in, port)
		})
	}
}

func holdIdle(b *testing.B, in *caddyrun.Instance, port int) {
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("ROOMGATE_BENCH_CONNS")); err == nil && v > 0 {
		n = v
	}
	tok := mintPeer(b, accesstoken.Claims{Room: "standup"})
	url := fmt.Sprintf("ws://localhost:%d/ws?room=standup", port)
	origin := http.Header{"Origin": {fmt.Sprintf("http://localhost:%d", port)}}
	protos := []string{"roomgate", accesstoken.SubprotocolTokenPrefix + tok}
	runtimeGC(b, in)
	before, goBefore := rssKiB(b, in.Pid()), goMemKiB(b, in)
	conns := make([]*websocket.Conn, 0, n)
	var mu sync.Mutex
	var failed atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protos, HTTPHeader: origin})
				if err == nil {
					if err = c.Write(ctx, websocket.MessageText, []byte("hi")); err == nil {
						_, _, err = c.Read(ctx)
					}
				}
				cancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	time.Sleep(2 * time.Second) // let the server settle
	runtimeGC(b, in)
	after, goAfter := rssKiB(b, in.Pid()), goMemKiB(b, in)
	if prefix := os.Getenv("ROOMGATE_BENCH_PROFILE"); prefix != "" {
		for _, p := range []string{"heap", "goroutine"} {
			if res, err := http.Get("http://" + in.AdminAddr + "/debug/pprof/" + p); err == nil {
				if f, err := os.Create(prefix + "." + strings.TrimPrefix(b.Name(), "BenchmarkIdleSignalling/") + "." + p); err == nil {
					io.Copy(f, res.Body)
					f.Close()
				}
				res.Body.Close()
			}
		}
	}
	b.ReportMetric(float64(len(conns)), "conns")
	if strings.HasSuffix(b.Name(), "gated") {
		b.ReportMetric(metric(b, in, "roomgate_signalling_connections"), "server-conns")
	}
	b.ReportMetric(float64(failed.Load()), "failed")
	b.ReportMetric(float64(after-before)/float64(len(conns)), "RSS-KiB/conn")
	b.ReportMetric(float64(goAfter-goBefore)/float64(len(conns)), "heap+stack-KiB/conn")
}

// goMemKiB is the server's Go heap and stacks in use: what its
// connections hold, without what the runtime has not yet given back.
func goMemKiB(b *testing.B, in *caddyrun.Instance) int64 {
	m := memstats(b, in.AdminAddr)
	return int64(m.HeapInuse+m.StackInuse) / 1024
}

// runtimeGC asks the server to collect garbage (expvar has no such knob;
// the admin endpoint's pprof heap profile with gc=1 forces one), so that
// RSS reflects live memory.
func runtimeGC(b *testing.B, in *caddyrun.Instance) {
	res, err := http.Get("http://" + in.AdminAddr + "/debug/pprof/heap?gc=1")
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
