package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// Gateways behind one name share Caddy's storage (docs/cluster.md): started
// at the same moment on one shared directory, two gateways obtain one
// certificate from Caddy's internal CA, both serve it, and they agree on one
// generated master secret.
func TestClusterGatewaysSharingStorageMakeOneCertificate(t *testing.T) {
	shared := t.TempDir()
	// Caddy's local CA is made without the storage's lock: two processes
	// making it at once on empty storage can trip over each other's half
	// written root (seen here: "loading root key: no such file"). One
	// process makes it first, as an operator's first gateway would; the
	// certificate is then obtained by two at once.
	prime := caddyrun.Start(t, fmt.Sprintf("{\n\tstorage file_system %s\n\tskip_install_trust\n}\nhttps://prime.localhost:%d {\n\ttls internal\n\trespond ok\n}\n", shared, caddyrun.FreePort(t)))
	prime.Stop()
	ports := []int{caddyrun.FreePort(t), caddyrun.FreePort(t)}
	var wg sync.WaitGroup
	gws := make([]*caddyrun.Instance, 2)
	for i := range gws {
		wg.Go(func() {
			gws[i] = caddyrun.Start(t, fmt.Sprintf(`{
	storage file_system %s
	skip_install_trust
}
https://localhost:%d {
	tls internal
	roomgate
	respond "gateway %d"
}
`, shared, ports[i], i+1))
		})
	}
	wg.Wait()
	var fingerprints [2][32]byte
	for i, port := range ports {
		if !eventually(20*time.Second, func() bool {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port),
				&tls.Config{ServerName: "localhost", InsecureSkipVerify: true})
			if err != nil {
				return false
			}
			defer c.Close()
			fingerprints[i] = sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
			return true
		}) {
			t.Fatalf("gateway %d serves no certificate", i+1)
		}
	}
	if fingerprints[0] != fingerprints[1] {
		t.Fatal("the two gateways serve different certificates for one name")
	}
	// One master secret, generated once under the storage's lock, for both.
	if n := strings.Count(gws[0].Logs()+gws[1].Logs(), "generated a master secret and kept it in storage"); n != 1 {
		t.Fatalf("the secret was generated %d times by two gateways on one storage", n)
	}
}
