// Package accesstoken mints and verifies roomgate's signed tokens.
//
// One master secret is configured (or generated); every purpose derives its own
// key from it with HKDF, so a peer token can never pass as an admission, nor a
// TURN credential as either. Tokens are JWTs signed with HS256; the verifier
// pins that algorithm, requires exp and jti, and allows a small leeway.
//
// The package knows nothing of HTTP or Caddy. It must never put a password in
// a token, and its errors never contain a token.
package accesstoken
