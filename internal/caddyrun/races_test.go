package caddyrun

import (
	"os"
	"strings"
	"testing"
)

func TestServerRacesSeparatesCaddysOwn(t *testing.T) {
	b, err := os.ReadFile("testdata/caddy_shutdown_race.txt")
	if err != nil {
		t.Fatal(err)
	}
	upstreamReport := string(b)
	ours, upstream := serverRaces("log line\n" + upstreamReport + "\nmore\n")
	if len(ours) != 0 || len(upstream) != 1 {
		t.Fatalf("Caddy's shutdown race: ours=%d upstream=%d, want 0 and 1", len(ours), len(upstream))
	}

	// The same race with a roomgate frame in an access is ours.
	mine := strings.Replace(upstreamReport, "io.copyBuffer()",
		"github.com/roomgate/roomgate/gateway.(*liveConn).Write()", 1)
	ours, upstream = serverRaces(mine)
	if len(ours) != 1 || len(upstream) != 0 {
		t.Fatalf("race with a roomgate access: ours=%d upstream=%d, want 1 and 0", len(ours), len(upstream))
	}

	// The same race through the gateway's wrapper, which serializes writes:
	// there it would mean the wrapper's lock failed, so it is ours.
	b2, err := os.ReadFile("testdata/caddy_shutdown_race_through_streamconn.txt")
	if err != nil {
		t.Fatal(err)
	}
	if ours, upstream := serverRaces(string(b2)); len(ours) != 1 || len(upstream) != 0 {
		t.Fatalf("the shutdown race through streamConn: ours=%d upstream=%d, want 1 and 0", len(ours), len(upstream))
	}

	// Any other race is ours.
	other := raceSeparator + "\nWARNING: DATA RACE\nRead at 0x1 by goroutine 3:\n  main.f()\n" + raceSeparator
	if ours, _ := serverRaces(other); len(ours) != 1 {
		t.Fatalf("unknown race not reported as ours")
	}
}
