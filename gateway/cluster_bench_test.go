package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/cluster/redisstore"
	"github.com/roomgate/roomgate/internal/redisrun"
)

// BenchmarkAdmissionThroughRedis is the admission decision of a gateway
// whose shared state is a real redis-server on loopback, at a steady 1,000
// admissions a second (sent on a clock, not after the previous answer, so a
// slow one does not hide the next): a guest with a room token, into rooms
// that are pinned to a media node, from 100 addresses. Each admission asks
// Redis whether the token is revoked, for the room's properties, for the
// room's node, and for a place in the room and for its address; the time
// runs from the request to the moment it is handed to reverse_proxy.
//
//	go test ./gateway -run '^$' -bench AdmissionThroughRedis -benchtime 1x
func BenchmarkAdmissionThroughRedis(b *testing.B) {
	srv := redisrun.Start(b)
	store, err := redisstore.New(redisstore.Options{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Restored(ctx); err != nil {
		b.Fatal(err)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if _, err := store.RegisterNode(ctx, cluster.Node{ID: id, Signal: "10.0.0.1:7880"}, time.Hour, nil); err != nil {
			b.Fatal(err)
		}
	}
	st := NewState(nil, Sharing{Store: store, Lease: 15 * time.Second})
	defer st.Destruct()
	var addr sync.Map // request → client address
	g, err := New(Config{
		ClientIP: func(r *http.Request) netip.Addr { a, _ := addr.Load(r.RemoteAddr); return a.(netip.Addr) },
		PinRooms: true, Route: func(*http.Request, string) {},
	}, secret, st)
	if err != nil {
		b.Fatal(err)
	}
	const rate, seconds, rooms = 1000, 5, 50
	tokens := make([]string, rooms)
	for i := range tokens {
		tokens[i], _, err = g.issuer.Mint(accesstoken.Claims{Role: accesstoken.RolePeer, Room: fmt.Sprint("room", i),
			RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
		if err != nil {
			b.Fatal(err)
		}
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		wg        sync.WaitGroup
	)
	b.ResetTimer()
	for range b.N {
		tick := time.NewTicker(time.Second / rate)
		for i := range rate * seconds {
			<-tick.C
			wg.Go(func() {
				r := upgradeRequest(fmt.Sprint("room", i%rooms), tokens[i%rooms])
				r.RemoteAddr = fmt.Sprintf("10.1.%d.%d:5000", i%100/250, i%100+1)
				addr.Store(r.RemoteAddr, netip.MustParseAddr(r.RemoteAddr[:len(r.RemoteAddr)-5]))
				start := time.Now()
				admitted := false
				g.ServeHTTP(httptest.NewRecorder(), r, func(http.ResponseWriter, *http.Request) error {
					d := time.Since(start)
					admitted = true
					mu.Lock()
					latencies = append(latencies, d)
					mu.Unlock()
					return nil
				})
				if !admitted {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			})
		}
		tick.Stop()
		wg.Wait()
	}
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d admissions refused", failed)
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(1), "max-ms")
	b.ReportMetric(float64(len(latencies)), "admissions")
}
