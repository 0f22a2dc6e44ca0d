// Package restapi is roomgate's REST API under /api/v1/, in Metered's and
// MiroTalk's names: tokens (mint, validate, revoke), rooms, participants,
// bans, MiroTalk's meeting and join links, and explain. It works over the
// shared store and the door's exported face (gateway.Gateway's Config,
// Shared, Room, Revoke, Ban, Explain, ...): it must not reach into the
// door's connections, sessions or locks, and it never logs a token, a
// password or the API key.
package restapi
