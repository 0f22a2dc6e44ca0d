package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/internal/redisrun"
	"github.com/roomgate/roomgate/internal/testidp"
)

// idpClusterGateway is a gateway sharing its state through Redis, whose
// hosts log in through the provider at issuer.
func idpClusterGateway(t testing.TB, redisAddr, issuer string) *site {
	t.Helper()
	up := newEchoUpstream(t, testSecret)
	port := caddyrun.FreePort(t)
	cf := fmt.Sprintf(`{
	roomgate_cluster {
		redis redis://%s
	}
}
http://localhost:%d {
	roomgate {
		secret %s
		host_protected
		%s
	}
	reverse_proxy /ws %s
}
`, redisAddr, port, testSecret, idpWords(issuer), up.addr())
	return &site{Instance: caddyrun.Start(t, cf, idpSecretEnv+"="+testidp.ClientSecret), port: port, upstream: up}
}

// A login started on one gateway may come back on another: nothing of it
// is only one process's. The login is then the host's on both, and the
// same callback replayed on the first is refused.
func TestClusterIDPCallbackLandsOnAnotherGateway(t *testing.T) {
	redis := redisrun.Start(t)
	idp := testidp.Start(t, 0, idpUsers...)
	g1 := idpClusterGateway(t, redis.Addr, idp.Issuer)
	g2 := idpClusterGateway(t, redis.Addr, idp.Issuer)
	// The site's name is g1's; the load balancer sends the callback to g2.
	via1 := newIDPClient(t, g1.port, "127.0.0.1")
	via2 := newIDPClientVia(t, g1.port, g2.port, "127.0.0.1")
	via1.waitDiscovered(30 * time.Second)
	via2.waitDiscovered(30 * time.Second)

	ck, auth := via1.begin()
	cb := via1.signIn(auth, "carol", "carol-Pa55")
	a := via2.get(cb, ck)
	if a.status != http.StatusSeeOther || !strings.Contains(a.header.Get("Location"), "#peer_token=") {
		t.Fatalf("the callback on the other gateway: %d %s", a.status, a.body)
	}
	tok := strings.SplitN(a.header.Get("Location"), "#peer_token=", 2)[1]
	for _, g := range []*site{g1, g2} {
		if s := g.person(t, "127.0.0.1").do("GET", "/session", "", nil, http.Header{"Authorization": {"Bearer " + tok}}); s.status != http.StatusOK {
			t.Fatalf("the login on gateway %d: %d %s", g.port, s.status, s.body)
		}
	}
	refusedWith(t, via1.get(cb, ck), http.StatusBadRequest, "login_used", "already used")
}
