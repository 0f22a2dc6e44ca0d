package caddymodule

import (
	"errors"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
	"github.com/roomgate/roomgate/gateway"
)

// comparerFor picks Caddy's own comparer for a hash as `roomgate
// hash-password` (Caddy's command) prints it: bcrypt or argon2id.
func comparerFor(hash string) (gateway.Comparer, error) {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return caddyauth.BcryptHash{}, nil
	case strings.HasPrefix(hash, "$argon2id$"):
		if _, _, err := caddyauth.DecodeHash([]byte(hash)); err != nil {
			return nil, errors.New("not a valid argon2id hash")
		}
		return caddyauth.Argon2idHash{}, nil
	}
	return nil, errors.New("not a bcrypt or argon2id hash")
}
