package caddyrun

import "strings"

// raceSeparator opens and closes every report the race detector prints.
const raceSeparator = "=================="

// knownUpstreamRaces are data races inside Caddy itself that roomgate cannot
// provoke or avoid. Each entry is a set of frames that must all appear in one
// report. They are logged, not failed, so that a race of ours still fails.
var knownUpstreamRaces = [][]string{
	// Caddy v2.11's reverse proxy, when it stops, writes a WebSocket close
	// frame through a hijacked connection whose byte counter the proxy's
	// copier goroutine also updates without a lock. Only at shutdown with a
	// live proxied WebSocket. (Through the gateway's connection wrapper the
	// writes are serialized, so a report through it is a race of ours.)
	{"caddyhttp.(*hijackedConn)", "reverseproxy.(*Handler).closeConnections", "reverseproxy.switchProtocolCopier"},
}

// serverRaces splits the race reports in logs into those that involve
// roomgate and the known races in Caddy.
func serverRaces(logs string) (ours, upstream []string) {
	parts := strings.Split(logs, raceSeparator)
	for _, p := range parts {
		if !strings.Contains(p, "WARNING: DATA RACE") {
			continue
		}
		if isKnownUpstream(p) {
			upstream = append(upstream, p)
		} else {
			ours = append(ours, p)
		}
	}
	return ours, upstream
}

func isKnownUpstream(report string) bool {
	// The accesses come first, then where the goroutines were created; a
	// roomgate frame in the accesses makes the race ours.
	accesses, _, _ := strings.Cut(report, "\nGoroutine ")
	if strings.Contains(accesses, "github.com/roomgate/roomgate/") {
		return false
	}
	for _, frames := range knownUpstreamRaces {
		all := true
		for _, f := range frames {
			if !strings.Contains(report, f) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
