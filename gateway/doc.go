// Package gateway is roomgate's door: it logs hosts in, keeps their sessions
// and the allowlist of their addresses, checks peer tokens, and decides at the
// WebSocket upgrade who may enter which room, before anything reaches the
// media server.
//
// It knows nothing of Caddy: the caddymodule package adapts it, handing it
// the client address Caddy resolved and the next handler (reverse_proxy).
// It must never read X-Forwarded-For itself, never log a password or token,
// and never let a request it refused reach the next handler.
package gateway
