// Package mediaserver is roomgate's SFU on pion/webrtc v4: rooms of peers
// that publish audio, video and screen share, each forwarded to every other
// peer in the room.
//
// It trusts nobody but the gateway: a signalling connection is accepted only
// with a valid, unused admission (accesstoken.AdmissionHeader), and the peer
// gets exactly what the admission says (room, role, ejection deadline).
// It knows nothing of Caddy; the caddymodule package runs it as an app.
//
// Each peer has two peer connections: one it publishes on (the peer offers)
// and one it receives on (the server offers), so renegotiation as peers come
// and go never meets an offer collision. All media share one UDP port
// (ICE UDP mux) and one TCP port (ICE-TCP).
package mediaserver
