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
	// copier goroutine also updates without a lock (in ReadFrom, or in
	// Write when the copy goes through the gateway's plain wrapper). Only at
	// shutdown with a live proxied WebSocket.
	{"caddyhttp.(*hijackedConn)", "reverseproxy.(*Handler).closeConnections", "reverseproxy.switchProtocolCopier"},
}

// passThrough are roomgate frames that only hand a call to Caddy's own
// object: the gateway's hijacked-connection wrapper forwards Read and
// Write to the connection reverse_proxy would otherwise have used.
var passThrough = []string{"gateway.(*streamConn).Write", "gateway.(*streamConn).Read"}

func passesOn(frame string) bool {
	for _, p := range passThrough {
		if strings.Contains(frame, p) {
			return true
		}
	}
	return false
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
	// roomgate frame in the accesses makes the race ours, unless it only
	// passes the call on.
	accesses, _, _ := strings.Cut(report, "\nGoroutine ")
	for _, line := range strings.Split(accesses, "\n") {
		if strings.Contains(line, "github.com/roomgate/roomgate/") && !passesOn(line) {
			return false
		}
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
