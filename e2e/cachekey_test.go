package e2e

// These tests run a binary built from ./cmd/roomgate by `go build`, which
// go test's result cache does not see: importing what that binary is made
// of puts its source in this package's cache key, so a change to the
// server runs them again instead of replaying an old result.
import _ "github.com/roomgate/roomgate"
