package e2e

import (
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/testidp"
)

// BenchmarkIDPLogin is the whole login through the provider, as a browser
// makes it over loopback: the button (binding cookie, redirect), the
// provider's authorization request and its login form, the callback (the
// state used once in the shared store, the code exchanged with the client
// secret, the ID token verified, the host session recorded). The provider
// runs in the test's process; Caddy in its own.
//
//	go test ./e2e -run '^$' -bench IDPLogin -benchtime 200x
func BenchmarkIDPLogin(b *testing.B) {
	idp := testidp.Start(b, 0, idpUsers...)
	s := newIDPSite(b, idp, idp.Issuer, "host_protected")
	c := newIDPClient(b, s.port, "127.0.0.1")
	c.waitDiscovered(30 * time.Second)
	c.mustLogIn("carol", "carol-Pa55") // connections and keys warm
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		c.mustLogIn("carol", "carol-Pa55")
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(float64(quantile(took, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(quantile(took, 0.99).Microseconds())/1000, "p99-ms")
}
