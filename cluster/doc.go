// Package cluster is the state that every gateway (and, later, every media
// server) of one roomgate site must agree on: host sessions and the
// addresses they belong to, revoked tokens, rooms made through the API,
// failed logins, and which hosts are in which room. Store is that state's
// contract; Memory keeps it in one process (the default, no configuration),
// and the redisstore package keeps it in Redis so that several processes
// share it. One conformance suite, clustertest, holds both to the same
// contract.
//
// A Store holds facts, not connections: each gateway keeps its own live
// connections and acts on them when an Event says that a fact changed
// elsewhere (a token revoked, a session ended, a room deleted).
//
// It must never hold a password or a token: sessions and revocations are
// known by the token's id.
package cluster
