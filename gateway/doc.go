// Package gateway is roomgate's door: it checks peer tokens and host logins
// and decides at the WebSocket upgrade who may enter which room, before
// anything reaches the media server; it tracks the connections it let in
// (and cuts them when a credential is revoked, a login ends or a room
// goes), where hosts are, and which media node each room is on.
//
// How hosts log in is hostlogin's: the door asks it one question per host
// token. The REST API is restapi's, over the door's exported face
// (face.go), mounted at /api/v1/ by caddymodule. It knows nothing of Caddy: the caddymodule package adapts it,
// handing it the client address Caddy resolved and the next handler
// (reverse_proxy). It must never read X-Forwarded-For itself, never log a
// password or token, and never let a request it refused reach the next
// handler.
package gateway
