package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// metric reads one sample from Caddy's /metrics on the admin endpoint:
// name with its labels as written there (`roomgate_x{reason="quota"}`), or
// -1 when it is absent.
func metric(t testing.TB, in *caddyrun.Instance, name string) float64 {
	t.Helper()
	res, err := http.Get("http://" + in.AdminAddr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	return -1
}

func TestMetricsMoveDuringACall(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	alice, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")
	alice.login("alice", "wrong")
	host := alice.mustLogin("alice", password)
	a := alice.mustJoin("standup", joinOpts{token: host})
	b := guest.mustJoin("standup", joinOpts{})
	if _, err := guest.join("standup", joinOpts{token: "not.a.token"}); err == nil {
		t.Fatal("a bad token was admitted")
	}
	publishAV(t, a)
	publishAV(t, b)
	if !receive(b).hears(10, a.ID()) {
		t.Fatal("no media")
	}
	in := s.Instance
	for name, want := range map[string]float64{
		`roomgate_logins_total{outcome="ok"}`:                                 1,
		`roomgate_logins_total{outcome="invalid_credentials"}`:                1,
		`roomgate_admissions_total{detail="host",outcome="admitted"}`:         1,
		`roomgate_admissions_total{detail="guest",outcome="admitted"}`:        1,
		`roomgate_admissions_total{detail="invalid_token",outcome="refused"}`: 1,
		`roomgate_host_sessions`:                                              1,
		`roomgate_rooms`:                                                      1,
		`roomgate_peers`:                                                      2,
		`roomgate_tracks`:                                                     4,
	} {
		if got := metric(t, in, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	before := metric(t, in, "roomgate_forwarded_packets_total")
	if !eventually(5*time.Second, func() bool { return metric(t, in, "roomgate_forwarded_packets_total") > before+50 }) || before <= 0 {
		t.Fatalf("roomgate_forwarded_packets_total does not move from %v", before)
	}
	// No label names a room, a person or an address.
	res, err := http.Get("http://" + in.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "roomgate_") && strings.ContainsAny(line, "{") &&
			(strings.Contains(line, "standup") || strings.Contains(line, "alice") || strings.Contains(line, "127.0.0")) {
			t.Errorf("a metric names a room, user or address: %s", line)
		}
	}
}
