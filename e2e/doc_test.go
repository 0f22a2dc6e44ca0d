// Package e2e tests roomgate from the outside: the real binary with a real
// Caddyfile, clients on several loopback addresses, and real upstreams.
package e2e
