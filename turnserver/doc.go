// Package turnserver is roomgate's TURN server, on pion/turn v4. It relays
// only for peers the gateway admitted, and only to addresses that cannot
// reach into the networks behind it:
//
//   - credentials are TURN REST ones ("<expiry>:<user>", HMAC of a key
//     derived from the master secret), minted by the gateway per admission;
//     an allocation made in time may be refreshed after its credential
//     expires, so that a call outlives the credential (see Auth);
//   - a peer address that is loopback, private, link-local, multicast,
//     unspecified, CGNAT, unique-local, reserved, or one of the server's
//     own, in any IPv4-in-IPv6 form, is refused unless an allowed range
//     admits it; endpoints allowed exactly (the media server beside it)
//     are checked on every packet, port included;
//   - each user has an allocation quota.
//
// The package knows nothing of Caddy; caddymodule's `turn` app runs it.
package turnserver
