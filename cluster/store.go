package cluster

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Store is the state the gateways of one site share. Every method may fail
// when the store cannot be reached; callers refuse what they cannot check
// (fail closed) rather than guess.
type Store interface {
	// OpenSession records a host login. When the user already has
	// maxPerUser live sessions, the oldest ones end (with an event) to make
	// room; their ids are returned. ErrRevoked when the id is in the
	// revocation list (a session that ended is not opened again).
	OpenSession(ctx context.Context, s Session, maxPerUser int) (ended []string, err error)
	// Session returns the live session with this id, or ErrNotFound.
	Session(ctx context.Context, id string) (Session, error)
	// EndSession ends a session (live, or expired less than SessionKeep
	// ago), forgets its presence in rooms and publishes EventSessionEnded;
	// ErrNotFound when there was none. A session that ends, however it
	// ends (here, or replaced by a newer login), also goes into the
	// revocation list until its login would have expired, and its event
	// carries that time: every gateway keeps it with the revocations it
	// gives back to a store that lost its data, so a session that ended is
	// never given back with the ones still in calls.
	EndSession(ctx context.Context, id, reason string) error
	// IdPSessions returns the sessions (live, or expired less than
	// SessionKeep ago) of logins through the provider issuer whose
	// subject is subject and whose provider session is sid, either ""
	// for any but not both: what an OpenID Connect back-channel logout
	// names. It ends nothing.
	IdPSessions(ctx context.Context, issuer, subject, sid string) ([]Session, error)
	// Incarnation names the store's data: the same until the store loses
	// it (a Redis restarted empty, or flushed), a new one after. A gateway
	// that finds a new one knows that the sessions of the hosts connected
	// through it were lost, not ended.
	Incarnation(ctx context.Context) (string, error)

	// Revoke records that the token with this id must not be accepted until
	// it expires anyway, and publishes EventRevoked. ErrFull when the list
	// holds MaxRevoked live entries.
	Revoke(ctx context.Context, id string, expires time.Time) error
	// Revoked reports whether the token with this id was revoked. It
	// answers ErrReset when the store lost its data (a Redis restarted
	// empty) and nobody has given it back its revocations yet.
	Revoked(ctx context.Context, id string) (bool, error)
	// Restored says that the revocations this process knows are in the
	// store again, after ErrReset.
	Restored(ctx context.Context) error

	// CreateRoom stores a room that does not exist yet (ErrExists), live
	// until expires (zero: until deleted); ErrFull beyond MaxRooms.
	CreateRoom(ctx context.Context, name string, data []byte, expires time.Time) error
	// ReplaceRoom replaces a room that exists (ErrNotFound) and publishes
	// EventRoomChanged.
	ReplaceRoom(ctx context.Context, name string, data []byte, expires time.Time) error
	// DeleteRoom forgets a room (ErrNotFound) and publishes EventRoomDeleted.
	DeleteRoom(ctx context.Context, name string) error
	// Room returns a live room's data, or ErrNotFound.
	Room(ctx context.Context, name string) ([]byte, error)
	// Rooms returns every live room's data.
	Rooms(ctx context.Context) ([][]byte, error)

	// LoginWait says how long logins under any of buckets must wait
	// because of earlier failures; 0: go ahead.
	LoginWait(ctx context.Context, buckets ...Bucket) (time.Duration, error)
	// LoginFailed counts one failed login in each bucket.
	LoginFailed(ctx context.Context, buckets ...Bucket) error
	// LoginSucceeded forgets the failures counted in the bucket with key.
	LoginSucceeded(ctx context.Context, key string) error
	// RememberLogin notes that user logged in from addr (an address key),
	// for KnownLogin, for LoginMemory.
	RememberLogin(ctx context.Context, user, addr string) error
	// KnownLogin reports whether user logged in from addr within
	// LoginMemory.
	KnownLogin(ctx context.Context, user, addr string) (bool, error)

	// HostPresent records that host session sess is in room, held by
	// holder (one gateway), for ttl: a holder renews it while the host is
	// connected and sets the grace when the host leaves. ErrNotFound when
	// the session has ended; a session that expired during a call is still
	// present until its host leaves.
	HostPresent(ctx context.Context, room, sess, holder string, ttl time.Duration) error
	// HostGone forgets what holder recorded for sess in room.
	HostGone(ctx context.Context, room, sess, holder string) error
	// Hosted reports whether some host is present in room.
	Hosted(ctx context.Context, room string) (bool, error)
	// SessionPresent reports whether host session sess is present anywhere.
	SessionPresent(ctx context.Context, sess string) (bool, error)

	// Facts reads, at once, what the decision on one admission needs (one
	// round trip to Redis, where the single calls above would take several).
	// ErrReset as for Revoked when a token was asked about.
	Facts(ctx context.Context, q FactsQuery) (Facts, error)
	// Enter pins the room (when choices are given) and takes places, at
	// once; a place that is full takes nothing, a room with no live node
	// among choices takes nothing (ErrNotFound).
	Enter(ctx context.Context, room string, choices []string, holder string, places []Place) (Entered, error)

	// Ban keeps an identity out of a room (or every room, Room ""), until
	// b.Until (zero: for ever), and publishes EventBanned so that every
	// gateway cuts what that identity holds. ErrFull beyond MaxBans.
	Ban(ctx context.Context, b Ban) error
	// Unban lifts a ban; ErrNotFound when there was none.
	Unban(ctx context.Context, identity, room string) error
	// Bans lists the bans in force.
	Bans(ctx context.Context) ([]Ban, error)

	// WebhookPush appends a delivery to queue (one receiver and one room:
	// a queue's deliveries go in order). ErrFull beyond MaxWebhookQueue.
	WebhookPush(ctx context.Context, queue string, item []byte) error
	// WebhookQueues lists the queues with deliveries in them.
	WebhookQueues(ctx context.Context) ([]string, error)
	// WebhookHold takes (or keeps) queue for holder for ttl, so that one
	// gateway at a time delivers it; false when another holds it.
	WebhookHold(ctx context.Context, queue, holder string, ttl time.Duration) (bool, error)
	// WebhookHead is the first delivery of queue; ErrNotFound when empty.
	WebhookHead(ctx context.Context, queue string) ([]byte, error)
	// WebhookSetHead replaces the first delivery (after a failed try).
	WebhookSetHead(ctx context.Context, queue string, item []byte) error
	// WebhookPop removes the first delivery (delivered, or given up).
	WebhookPop(ctx context.Context, queue string) error
	// WebhookAll is every queue with its deliveries in order.
	WebhookAll(ctx context.Context) (map[string][][]byte, error)

	// Take takes one place under each of places for holder (a gateway),
	// all or none, atomically: it returns the key of the first place whose
	// limit is reached (counting the places of live holders only), or "".
	Take(ctx context.Context, holder string, places []Place) (full string, err error)
	// Full says which of places (the first) has no place left, taking
	// nothing; "" when all have one.
	Full(ctx context.Context, holder string, places []Place) (string, error)
	// Give gives back places holder took.
	Give(ctx context.Context, holder string, places []Place) error
	// SetHolderPlaces sets what holder holds under each key (0: nothing),
	// from the connections it has: a Give lost to an outage does not leave
	// a place taken for ever.
	SetHolderPlaces(ctx context.Context, holder string, counts map[string]int) error
	// RenewHolder keeps holder's places counted for ttl more: the places
	// of a gateway that died stop counting when its lease lapses.
	RenewHolder(ctx context.Context, holder string, ttl time.Duration) error

	// RegisterNode records a media node as live for ttl, with what a
	// gateway needs to send it a room; the node renews it while it runs.
	// held are the rooms the node serves, with the epoch of the pin it
	// serves them under; RegisterNode returns those pinned to another node
	// or at another epoch (they moved), whose copy the node must end. A held
	// room with no pin at all (the store came back empty, or the pin
	// lapsed) has had no newer placement: it is pinned to the node again
	// under the epoch it holds, and a later placement of it gets a larger
	// epoch than that one.
	RegisterNode(ctx context.Context, n Node, ttl time.Duration, held map[string]int64) (lost []string, err error)
	// LeaveNode forgets a node at once (it is stopping).
	LeaveNode(ctx context.Context, id string) error
	// Nodes lists the live nodes.
	Nodes(ctx context.Context) ([]Node, error)
	// Pin returns the node room is on. A room on no live node is pinned,
	// atomically, to the first live node of choices that is not draining,
	// under an epoch larger than any it had; ErrNotFound when there is none.
	// A room pinned to a draining node stays there.
	Pin(ctx context.Context, room string, choices []string) (Pin, error)
	// Unpin forgets room's pin if it is still node's at epoch (the room
	// emptied).
	Unpin(ctx context.Context, room, node string, epoch int64) error

	// RoomState and SetRoomState keep what a room's node decided beyond
	// that node: the room is still locked, or still ended, on the next.
	// The zero state forgets the room.
	RoomState(ctx context.Context, room string) (RoomState, error)
	SetRoomState(ctx context.Context, room string, st RoomState) error

	// TokenJoin records a connection of a token that has a limit: a time
	// in rooms (its clock runs while one of its connections is open,
	// across joins and gateways; connections at once share it) or a number
	// of uses (each join uses one, but a reconnect within ReconnectWindow
	// of its last connection). ErrUsedUp when no use is left. The record
	// lasts until the token expires.
	TokenJoin(ctx context.Context, j TokenJoin) (TokenJoined, error)
	// TokenLeave records that a connection of token id ended; refund gives
	// back the use it took (it never got in).
	TokenLeave(ctx context.Context, id string, refund bool) error
	// TokenUses says how many uses token id has used.
	TokenUses(ctx context.Context, id string) (int, error)

	// Watch arranges for apply to be called, from one goroutine, with every
	// event published after Watch returns, by any process, in order, until
	// ctx ends. After an outage it goes on where it left off; when events
	// may have been lost it calls apply with EventResync, after which the
	// watcher should check what it holds against the store.
	Watch(ctx context.Context, apply func(Event))
}

// Session is one host login: a user, bound to the address that logged in.
type Session struct {
	ID      string // the host token's jti
	User    string
	Addr    netip.Addr
	Expires time.Time
	// IdP is what the identity provider vouched for, for a login through
	// OpenID Connect; nil for a password login.
	IdP *IdPLogin
}

// IdPLogin is an OpenID Connect login's identity at its provider: what a
// back-channel logout names (sub or sid) and the rooms its groups allow.
type IdPLogin struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	// SID is the provider's session id (the ID token's sid), when it sent one.
	SID string `json:"sid,omitempty"`
	// Rooms are the rooms the login may open; empty: all.
	Rooms []string `json:"rooms,omitempty"`
}

// Names says whether a back-channel logout of issuer's subject and
// session sid (either "" for any, not both) names this login.
func (l *IdPLogin) Names(issuer, subject, sid string) bool {
	return l != nil && (subject != "" || sid != "") && l.Issuer == issuer &&
		(subject == "" || l.Subject == subject) && (sid == "" || l.SID == sid)
}

// Ban keeps an identity out.
type Ban struct {
	// Identity is "xuid:<externalUserId>", "user:<host username>",
	// "idp:<identity provider's subject>" or "addr:<address key>".
	Identity string    `json:"identity"`
	Room     string    `json:"room,omitempty"` // "": every room
	Until    time.Time `json:"until,omitzero"` // zero: for ever
	Reason   string    `json:"reason,omitempty"`
	By       string    `json:"by,omitempty"` // who banned: an admin's name, or "api"
	Created  time.Time `json:"created"`
}

// NodeEventQueuePrefix starts the queues a media server writes its events
// to (room.started, lobby.knocked…), one per room; gateways turn them into
// signed webhook deliveries.
const NodeEventQueuePrefix = "node|"

// NodeEvent is one event of a media server, as it waits in its queue.
type NodeEvent struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Room      string         `json:"room"`
	Data      map[string]any `json:"data,omitempty"`
}

// MaxWebhookQueue bounds the deliveries waiting in one queue.
const MaxWebhookQueue = 10_000

// MaxBans bounds the bans in force.
const MaxBans = 100_000

// FactsQuery says what Facts reads about one admission.
type FactsQuery struct {
	Room    string // the room's properties (an API room)
	Token   string // whether this token id is revoked; "": none
	Session string // this host session; "": none
	Hosted  bool   // whether a host is present in Room
	Rejoin  string // whether this rejoin pass is barred; "": none
	// Identities are the person's identities to look for bans of, in Room
	// or every room.
	Identities []string
}

// Facts is what Facts read.
type Facts struct {
	Room         []byte   // nil: not an API room
	Revoked      bool     // the token is revoked
	Session      *Session // nil: no such live session
	Hosted       bool
	RejoinBarred bool
	Banned       *Ban // the first ban in force of one of the identities
}

// Entered is what Enter did.
type Entered struct {
	Pin  *Pin   // nil when no choices were given
	Full string // the key of the first full place ("": all taken)
}

// Place is one thing counted across gateways: connections from one
// address, people in one room or its lobby.
type Place struct {
	Key string
	// Limit is how many places Key has; 0: no limit.
	Limit int
}

// TokenJoin is one connection of a token with a limit.
type TokenJoin struct {
	ID         string
	Expires    time.Time
	EjectAfter time.Duration // its time in rooms; 0: none
	MaxUses    int           // its joins; 0: any number
	// Reconnect says the person showed they were in with this token
	// before (a rejoin pass for it): within ReconnectWindow of its last
	// connection, that uses nothing.
	Reconnect bool
}

// TokenJoined is what TokenJoin decided.
type TokenJoined struct {
	Deadline time.Time // when its time in rooms runs out; zero: no limit
	UsesLeft int       // with MaxUses
}

// ReconnectWindow is how long after a token's last connection ended a
// reconnect of the same person uses nothing.
const ReconnectWindow = 2 * time.Minute

// Event kinds.
const (
	EventRevoked      = "revoked"       // ID: a token id; Until
	EventSessionEnded = "session_ended" // ID: a session id; Reason; Until
	EventRoomChanged  = "room_changed"  // Room
	EventRoomDeleted  = "room_deleted"  // Room
	EventBanned       = "banned"        // ID: an identity; Room ("": every room)
	EventResync       = "resync"        // events may have been missed
	// EventStreamLost: the watcher lost the stream of events; until
	// EventResync, changes made meanwhile (and, after a failover to a
	// replica, changes the replica never got) are unknown here.
	EventStreamLost    = "stream_lost"
	maxEventReasonSize = 200
)

// Event says that a shared fact changed.
type Event struct {
	Kind   string
	ID     string
	Room   string
	Reason string
	// Until, with EventRevoked, is when the token expires; with
	// EventSessionEnded, when the login would have (zero: it had already).
	Until time.Time
}

// Limits that every Store keeps.
const (
	// MaxRevoked bounds the revocation list; entries leave it when the
	// token would have expired anyway.
	MaxRevoked = 100_000
	// MaxRooms bounds the rooms made through the API.
	MaxRooms = 10_000
	// SessionKeep is how long an expired session is kept for the host who
	// is still in a call: its token opens nothing new, but the room stays
	// open until the host leaves.
	SessionKeep = 12 * time.Hour
)

// Bucket counts failed logins under Key: it holds Burst failures and
// lets one more through every Refill.
type Bucket struct {
	Key    string
	Burst  int
	Refill time.Duration
}

// LoginMemory is how long a user's successful login from an address is
// remembered (at most MaxKnownLogins addresses per user).
const LoginMemory = 30 * 24 * time.Hour

// MaxKnownLogins bounds the addresses remembered per user.
const MaxKnownLogins = 20

var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("exists already")
	ErrFull     = errors.New("limit reached")
	// ErrRevoked means the id is in the revocation list.
	ErrRevoked = errors.New("revoked")
	// ErrUsedUp means a token has used all its uses.
	ErrUsedUp = errors.New("the token has no use left")
	// ErrReset means that the store lost what it held and cannot vouch
	// that a token is not revoked until someone calls Restored.
	ErrReset = errors.New("the shared state was reset and its revocations are not restored yet")
)

// Unavailable wraps an error that reaching the store caused, as opposed to
// an answer from it (ErrNotFound and friends).
type Unavailable struct{ Err error }

func (u *Unavailable) Error() string { return "the shared state cannot be reached: " + u.Err.Error() }
func (u *Unavailable) Unwrap() error { return u.Err }

// IsUnavailable reports whether err means the store could not be reached.
func IsUnavailable(err error) bool {
	var u *Unavailable
	return errors.As(err, &u)
}
