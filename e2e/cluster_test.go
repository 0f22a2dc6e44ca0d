package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/redisrun"
)

// clusterGateway starts a gateway that shares its state through the Redis
// at redisAddr.
func clusterGateway(t testing.TB, redisAddr, words string) *site {
	t.Helper()
	return gatewaySite(t, words, "roomgate_cluster {\n\t\tredis redis://"+redisAddr+"\n\t}")
}

func TestClusterHostLoggedInOnOneGatewayIsHostOnAnother(t *testing.T) {
	redis := redisrun.Start(t)
	g1 := clusterGateway(t, redis.Addr, "host_protected")
	g2 := clusterGateway(t, redis.Addr, "host_protected")
	tok := g1.person(t, "127.0.0.1").mustLogin("alice", password)

	// Host rights through gateway 2, from the address that logged in…
	host2 := g2.person(t, "127.0.0.1")
	hs2 := host2.mustSignal("standup", signalOpts{token: tok})
	if hs2.hello.Role != "host" {
		t.Fatalf("the host through gateway 2 is %q", hs2.hello.Role)
	}
	// …and from no other.
	if a := g2.person(t, "127.0.0.2").refusedSignal("standup", signalOpts{token: tok}, http.StatusForbidden); a.errorCode() != "wrong_address" {
		t.Fatalf("the host's token from another address: %s", a.body)
	}
	// The host is in the room through gateway 2: a guest comes in through gateway 1.
	guest1 := g1.person(t, "127.0.0.3")
	if g := guest1.mustSignal("standup", signalOpts{}); g.hello.Role != "guest" {
		t.Fatalf("guest through gateway 1: %+v", g.hello)
	}
	hs1 := g1.person(t, "127.0.0.1").mustSignal("retro", signalOpts{token: tok})

	// Logout through gateway 2 ends the session everywhere: the host's
	// connection held by gateway 1 is cut, and the rooms close to guests.
	if st := host2.logout(tok); st != http.StatusNoContent {
		t.Fatalf("logout through gateway 2: %d", st)
	}
	if err := hs1.cutWith(2*time.Second, 4003, "session_ended"); err != nil {
		t.Fatalf("the host's connection through gateway 1 after logout through gateway 2: %v", err)
	}
	if !hs2.closedWithin(2 * time.Second) {
		t.Fatal("the host's connection through gateway 2 stayed open after logout")
	}
	if a := guest1.refusedSignal("standup", signalOpts{}, http.StatusForbidden); a.errorCode() != "host_absent" {
		t.Fatalf("a guest after the host logged out elsewhere: %s", a.body)
	}
	if a := g1.person(t, "127.0.0.1").refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized); a.errorCode() != "session_ended" {
		t.Fatalf("the logged-out token through gateway 1: %s", a.body)
	}
}

func TestClusterCountsFailedLoginsOnce(t *testing.T) {
	redis := redisrun.Start(t)
	gws := []*site{clusterGateway(t, redis.Addr, ""), clusterGateway(t, redis.Addr, "")}
	for i := range 10 {
		a, _ := gws[i%2].person(t, "127.0.0.4").login("alice", "wrong")
		if a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d through gateway %d: %d %s", i, i%2+1, a.status, a.body)
		}
	}
	for i, g := range gws {
		a, _ := g.person(t, "127.0.0.4").login("alice", password)
		if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
			t.Fatalf("after 10 failures spread over two gateways, gateway %d answered %d %s", i+1, a.status, a.body)
		}
	}
}

func TestClusterRoomsMadeOnOneGatewayExistOnAll(t *testing.T) {
	redis := redisrun.Start(t)
	g1 := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	g2 := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	admin1, admin2 := g1.person(t, "127.0.0.1"), g2.person(t, "127.0.0.1")
	exp := time.Now().Add(time.Hour).Unix()
	if a := admin1.apiCall("POST", "/api/v1/room", fmt.Sprintf(`{"roomName":"board","privacy":"private","expireUnixSec":%d}`, exp)); a.status != http.StatusCreated {
		t.Fatalf("create through gateway 1: %d %s", a.status, a.body)
	}
	a := admin2.apiCall("GET", "/api/v1/room/board", "")
	var room struct {
		Privacy       string `json:"privacy"`
		ExpireUnixSec int64  `json:"expireUnixSec"`
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &room) != nil || room.Privacy != "private" || room.ExpireUnixSec != exp {
		t.Fatalf("the room through gateway 2: %d %s", a.status, a.body)
	}
	if a := admin2.apiCall("POST", "/api/v1/room", `{"roomName":"board"}`); a.status != http.StatusConflict {
		t.Fatalf("the same name through gateway 2: %d %s", a.status, a.body)
	}
	// Its rules hold on every gateway.
	if a := g2.person(t, "127.0.0.2").refusedSignal("board", signalOpts{}, http.StatusForbidden); a.errorCode() != "private_room" {
		t.Fatalf("a guest in the private room through gateway 2: %s", a.body)
	}
	tok := admin1.mintToken(`{"roomName":"board"}`)
	member := g2.person(t, "127.0.0.2").mustSignal("board", signalOpts{token: tok})

	// Deleted through gateway 1: gone on gateway 2, its meeting ended there.
	if a := admin1.apiCall("DELETE", "/api/v1/room/board", ""); a.status != http.StatusNoContent {
		t.Fatalf("delete through gateway 1: %d %s", a.status, a.body)
	}
	if err := member.cutWith(2*time.Second, 4002, "ended"); err != nil {
		t.Fatalf("the meeting on gateway 2 after the room was deleted through gateway 1: %v", err)
	}
	if a := admin2.apiCall("GET", "/api/v1/room/board", ""); a.status != http.StatusNotFound {
		t.Fatalf("the deleted room through gateway 2: %d %s", a.status, a.body)
	}
}

func TestClusterRevocationCutsOnEveryGatewayEvenOneAwayFromRedis(t *testing.T) {
	redis := redisrun.Start(t)
	// Gateway 1 reaches Redis through a link the test can cut.
	link := newNetCut(t, redis.Addr)
	g1 := clusterGateway(t, link.addr(), "api_key "+apiKey)
	g2 := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	admin := g2.person(t, "127.0.0.1")

	// Revoked through gateway 2 while connected through gateway 1.
	tok := admin.mintToken(`{"roomName":"standup"}`)
	c := g1.person(t, "127.0.0.2").mustSignal("standup", signalOpts{token: tok})
	if a := admin.api("/api/v1/token/revoke", `{"token":"`+tok+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke through gateway 2: %d %s", a.status, a.body)
	}
	if err := c.cutWith(time.Second, 4001, "revoked"); err != nil {
		t.Fatalf("the connection through gateway 1, a second after the revocation through gateway 2: %v", err)
	}
	for i, g := range []*site{g1, g2} {
		if a := g.person(t, "127.0.0.2").refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized); a.errorCode() != "invalid_token" {
			t.Fatalf("the revoked token through gateway %d: %s", i+1, a.body)
		}
	}

	// Gateway 1 is cut off from Redis when the next revocation is made.
	tok = admin.mintToken(`{"roomName":"standup"}`)
	c = g1.person(t, "127.0.0.2").mustSignal("standup", signalOpts{token: tok})
	link.setCut(true)
	// Without the shared state gateway 1 admits nobody: it cannot know
	// what was revoked.
	a, _ := g1.person(t, "127.0.0.3").signal("standup", signalOpts{})
	if a != nil {
		t.Fatal("gateway 1 admitted someone without the shared state")
	}
	_, refusal := g1.person(t, "127.0.0.3").signal("standup", signalOpts{})
	if refusal.status != http.StatusServiceUnavailable || refusal.errorCode() != "cluster_unavailable" {
		t.Fatalf("gateway 1 away from Redis answered %d %s", refusal.status, refusal.body)
	}
	if s, err := strconv.Atoi(refusal.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", refusal.header.Get("Retry-After"))
	}
	if a := admin.api("/api/v1/token/revoke", `{"token":"`+tok+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke through gateway 2: %d %s", a.status, a.body)
	}
	if !c.echoes() {
		t.Fatal("gateway 1 cut a call it had no news about")
	}
	link.setCut(false)
	if !c.closedWithin(10 * time.Second) {
		t.Fatal("gateway 1 did not cut the revoked token's connection once it reached Redis again")
	}
	if n := metric(t, g1.Instance, `roomgate_cluster_events_applied_total{kind="revoked"}`); n < 2 {
		t.Fatalf("revocations applied by gateway 1: %v", n)
	}
	if a := g1.person(t, "127.0.0.2").refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized); a.errorCode() != "invalid_token" {
		t.Fatalf("the token revoked while gateway 1 was away: %s", a.body)
	}
}

func TestClusterRedisDownFailsClosedAndComesBack(t *testing.T) {
	redis := redisrun.Start(t)
	g := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	p := g.person(t, "127.0.0.2")
	call := p.mustSignal("standup", signalOpts{})
	revoked := p.mintToken(`{"roomName":"standup"}`)
	if a := p.api("/api/v1/token/revoke", `{"token":"`+revoked+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}

	redis.Kill()
	if !call.echoes() {
		t.Fatal("a call in progress broke when Redis died")
	}
	if _, a := p.signal("standup", signalOpts{}); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("an admission without Redis: %d %q %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	if a, _ := p.login("alice", password); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("a login without Redis: %d %s", a.status, a.body)
	}

	// Redis comes back with nothing: roomgate serves again without a
	// restart, and what was revoked stays revoked.
	redis.Restart(true)
	if !eventually(15*time.Second, func() bool {
		_, a := p.signal("standup", signalOpts{})
		return a.status == http.StatusSwitchingProtocols
	}) {
		t.Fatal("admissions did not resume after Redis came back")
	}
	if a, _ := p.login("alice", password); a.status != http.StatusOK {
		t.Fatalf("a login after Redis came back: %d %s", a.status, a.body)
	}
	if !eventually(10*time.Second, func() bool {
		_, a := p.signal("standup", signalOpts{token: revoked})
		return a.status == http.StatusUnauthorized && strings.Contains(string(a.body), "revoked")
	}) {
		t.Fatal("a token revoked before Redis lost its data works again")
	}
	if !call.echoes() {
		t.Fatal("the call in progress did not survive the outage")
	}
}

func TestClusterCountsConnectionsAndLobbyPlacesAcrossGateways(t *testing.T) {
	redis := redisrun.Start(t)
	words := "api_key " + apiKey + "\n\t\tmax_connections_per_address 3"
	gws := []*site{clusterGateway(t, redis.Addr, words), clusterGateway(t, redis.Addr, words)}
	admin := gws[0].person(t, "127.0.0.1")

	// Three connections from one address, over two gateways: a fourth
	// through either is one too many.
	for i := range 3 {
		gws[i%2].person(t, "127.0.0.5").mustSignal("standup", signalOpts{})
	}
	for i, g := range gws {
		if a := g.person(t, "127.0.0.5").refusedSignal("standup", signalOpts{}, http.StatusTooManyRequests); a.errorCode() != "too_many_connections" {
			t.Fatalf("a fourth connection through gateway %d: %s", i+1, a.body)
		}
	}

	// A room for two, filled through both gateways.
	if a := admin.apiCall("POST", "/api/v1/room", `{"roomName":"pair","maxParticipants":2}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	first := gws[0].person(t, "127.0.0.6").mustSignal("pair", signalOpts{})
	gws[1].person(t, "127.0.0.7").mustSignal("pair", signalOpts{})
	if a := gws[0].person(t, "127.0.0.8").refusedSignal("pair", signalOpts{}, http.StatusForbidden); a.errorCode() != "room_full" {
		t.Fatalf("a third in a room for two: %s", a.body)
	}
	// One leaves through gateway 1: a place is free through gateway 2.
	first.conn.CloseNow()
	if !eventually(5*time.Second, func() bool {
		s, _ := gws[1].person(t, "127.0.0.8").signal("pair", signalOpts{})
		return s != nil
	}) {
		t.Fatal("the place given back through gateway 1 was not free through gateway 2")
	}

	// Knocking on a private room's lobby: three places per address in all.
	if a := admin.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private","enableRequestToJoin":true}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	for i := range 3 {
		if s := gws[i%2].person(t, "127.0.0.9").mustSignal("board", signalOpts{}); s.hello.Role != "lobby" {
			t.Fatalf("knock %d admitted as %q", i, s.hello.Role)
		}
	}
	if a := gws[1].person(t, "127.0.0.9").refusedSignal("board", signalOpts{}, http.StatusTooManyRequests); a.errorCode() != "too_many_connections" {
		t.Fatalf("a fourth knock from one address: %s", a.body)
	}
}

// BenchmarkClusterRevocationCutOff revokes, through gateway 2, a token
// whose signalling connection came in through gateway 1, sixty times, and
// reports how long from the revoke call to the connection's end (two
// roomgate processes and a redis-server on loopback).
//
//	go test ./e2e -run '^$' -bench ClusterRevocationCutOff -benchtime 1x
func BenchmarkClusterRevocationCutOff(b *testing.B) {
	redis := redisrun.Start(b)
	g1 := clusterGateway(b, redis.Addr, "api_key "+apiKey)
	g2 := clusterGateway(b, redis.Addr, "api_key "+apiKey)
	admin := g2.person(b, "127.0.0.1")
	const tries = 60
	var cut []time.Duration
	b.ResetTimer()
	for range b.N {
		for range tries {
			tok := admin.mintToken(`{"roomName":"standup"}`)
			c := g1.person(b, "127.0.0.2").mustSignal("standup", signalOpts{token: tok})
			closed := make(chan time.Time, 1)
			go func() {
				c.closedWithin(10 * time.Second)
				closed <- time.Now()
			}()
			start := time.Now()
			if a := admin.api("/api/v1/token/revoke", `{"token":"`+tok+`"}`, nil); a.status != http.StatusNoContent {
				b.Fatalf("revoke: %d %s", a.status, a.body)
			}
			cut = append(cut, (<-closed).Sub(start))
		}
	}
	b.StopTimer()
	slices.Sort(cut)
	at := func(q float64) float64 { return float64(cut[int(q*float64(len(cut)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(1), "max-ms")
	b.ReportMetric(float64(len(cut)), "revocations")
}

// A ban through one gateway's API holds on every gateway, and cuts what the
// banned identity holds through another.
func TestClusterBanHoldsOnEveryGateway(t *testing.T) {
	redis := redisrun.Start(t)
	g1 := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	g2 := clusterGateway(t, redis.Addr, "api_key "+apiKey)
	admin := g1.person(t, "127.0.0.1")
	tok := admin.mintToken(`{"globalToken":true,"externalUserId":"mallory"}`)
	live := g2.person(t, "127.0.0.2").mustSignal("retro", signalOpts{token: tok})
	if a := admin.apiCall("POST", "/api/v1/bans", `{"externalUserId":"mallory","durationSec":3600,"reason":"spam"}`); a.status != http.StatusCreated {
		t.Fatalf("ban through gateway 1: %d %s", a.status, a.body)
	}
	if err := live.cutWith(5*time.Second, 4004, "banned"); err != nil {
		t.Fatalf("the banned identity's connection through gateway 2: %v", err)
	}
	fresh := admin.mintToken(`{"roomName":"standup","externalUserId":"mallory"}`)
	for i, g := range []*site{g1, g2} {
		if a := g.person(t, "127.0.0.2").refusedSignal("standup", signalOpts{token: fresh}, http.StatusForbidden); a.errorCode() != "banned" {
			t.Fatalf("the banned identity through gateway %d: %s", i+1, a.body)
		}
	}
	// Someone else from the same address is not banned.
	g2.person(t, "127.0.0.2").mustSignal("standup", signalOpts{token: admin.mintToken(`{"roomName":"standup","externalUserId":"trent"}`)})
}
