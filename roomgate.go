// Package roomgate plugs roomgate into Caddy: the gateway handler, the
// mediaserver and turn apps, and the roomgate subcommands. It is what
// `xcaddy build --with github.com/roomgate/roomgate` imports, and what
// cmd/roomgate imports beside Caddy's standard modules.
package roomgate

import _ "github.com/roomgate/roomgate/caddymodule" // registers the modules
