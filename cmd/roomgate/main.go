// Command roomgate is Caddy with its standard modules and roomgate's: what
// `xcaddy build --with github.com/roomgate/roomgate` produces.
//
//	roomgate run              serves ./Caddyfile
//	roomgate hash-password    prints the bcrypt hash a `user` line takes
//	roomgate list-modules     lists http.handlers.roomgate among the rest
//	roomgate token            mints a peer token from the master secret
//	roomgate turn-secret      prints the TURN REST secret, for coturn
//	roomgate drain            drains a media node of a cluster, then stops it
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/roomgate/roomgate"
)

func main() {
	caddycmd.Main()
}
