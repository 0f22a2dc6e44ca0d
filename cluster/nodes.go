package cluster

import (
	"time"
)

// Media nodes and where rooms are.

// Node is a media server as gateways see it.
type Node struct {
	ID string `json:"id"`
	// Signal is where a gateway's reverse_proxy sends a room's signalling.
	Signal string `json:"signal"`
	// Region groups nodes near each other; gateways prefer their own.
	Region string `json:"region,omitempty"`
	// TURN are the TURN URLs handed to peers of the node's rooms.
	TURN []string `json:"turn,omitempty"`
	// Load is how many peers the node serves.
	Load int `json:"load"`
	// Draining says the node takes no new room: the rooms pinned to it stay
	// until they end or it moves them.
	Draining bool `json:"draining,omitempty"`
}

// Pin is the node a room is on, and the epoch of that placement: every
// new placement of a room has a larger one, so a node can refuse an
// admission made for an older one.
type Pin struct {
	Node  Node
	Epoch int64
	// Moved says this call moved the room off a node that is gone: a
	// failover.
	Moved bool
}

// RoomState is what a node starting to serve a room must know of it.
type RoomState struct {
	Locked bool
	// EndedUntil: an admin ended the meeting; until then only hosts and
	// admins open it again.
	EndedUntil time.Time
}

// PinTTL is how long a room's pin lasts without an admission, when its
// node does not forget it first.
const PinTTL = 24 * time.Hour
