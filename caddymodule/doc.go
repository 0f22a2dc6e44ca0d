// Package caddymodule is roomgate's only contact with Caddy: the roomgate
// HTTP handler (the gateway) and its Caddyfile words, and, as they land, the
// mediaserver and turn apps. Each is a thin adapter over a Caddy-free package;
// live state sits in usage pools so that `caddy reload` drops nothing.
package caddymodule
