package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/redisrun"
)

// Issue 23, item 2: every gateway keeps, in its own Caddy storage, every
// revocation it hears of, not only those made through its API. Two
// gateways on one Redis, each with storage of its own (separate machines):
// a token revoked through gateway 1 stays refused by gateway 2 when
// gateway 2 is later started alone on a Redis that lost its data.
func TestClusterGatewayKeepsRevocationsItHeardOfThroughARedisThatLostThem(t *testing.T) {
	redis := redisrun.Start(t)
	g1 := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	g2 := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	if g1.Dir == g2.Dir {
		t.Fatal("the two gateways share a storage directory")
	}
	admin1, admin2 := g1.person(t, "127.0.0.1"), g2.person(t, "127.0.0.1")
	validate := func(p *person, tok string) answer {
		return p.api("/api/v1/token/validate", `{"token":"`+tok+`"}`, nil)
	}

	tok := admin1.mintToken(`{"roomName":"standup"}`)
	if a := validate(admin2, tok); a.status != http.StatusOK {
		t.Fatalf("a fresh token through gateway 2: %d %s", a.status, a.body)
	}
	if a := admin1.api("/api/v1/token/revoke", `{"token":"`+tok+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke through gateway 1: %d %s", a.status, a.body)
	}
	if !eventually(10*time.Second, func() bool { return validate(admin2, tok).status == http.StatusUnauthorized }) {
		a := validate(admin2, tok)
		t.Fatalf("gateway 2 still takes the token revoked through gateway 1: %d %s", a.status, a.body)
	}
	// Gateway 2 has heard of the revocation from the stream (its refusal
	// above came from Redis itself).
	if !eventually(10*time.Second, func() bool {
		return metric(t, g2.Instance, `roomgate_cluster_events_applied_total{kind="revoked"}`) >= 1
	}) {
		t.Fatal("gateway 2 never applied the revocation made through gateway 1")
	}

	// Both gateways stop; Redis comes back with nothing; gateway 2 starts
	// alone, with only its own storage to give Redis back its revocations.
	g2.Stop()
	g1.Stop()
	redis.Restart(true)
	g2.Restart()

	var a answer
	if !eventually(15*time.Second, func() bool {
		a = validate(admin2, tok)
		return a.status != http.StatusServiceUnavailable // Redis not restored yet
	}) {
		t.Fatalf("gateway 2 never served on the emptied Redis: %d %s", a.status, a.body)
	}
	if a.status != http.StatusUnauthorized || !strings.Contains(string(a.body), "revoked") {
		t.Fatalf("gateway 2, restarted alone on an emptied Redis, answers %d %s for a token revoked through gateway 1", a.status, a.body)
	}
}
