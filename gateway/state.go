package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/webhook"
	"go.uber.org/zap"
)

// State is what a gateway keeps across config reloads: its live signalling
// connections, the host sessions those belong to, and its hold on the
// shared state (cluster.Store) where host sessions, revocations, API rooms
// and login limits live. The caddymodule package keeps one per master
// secret and store in a usage pool, so `caddy reload` drops no login and no
// call.
//
// Rule: nothing calls the shared store while holding mu. Events from the
// store take mu to cut connections, and the in-memory store delivers them
// before the call that caused them returns.
type State struct {
	clock  clockwork.Clock
	logger atomic.Pointer[zap.Logger]
	guard  *hostlogin.Guard
	shared cluster.Store
	// holder names this gateway in the shared record of where hosts are.
	holder string
	// lease is how long this gateway's word that a host is in a room lasts
	// unless renewed: how long a gateway that died keeps its hosts' rooms
	// open. Zero: held until let go (one process: the store dies with it).
	lease time.Duration
	stop  context.CancelFunc
	// cuts counts the events that cut connections (revocations, ended
	// sessions, deleted rooms). An admission checked against the store
	// before one of them arrived decides again.
	cuts atomic.Uint64
	// restoring is set while the store is given back its revocations.
	restoring atomic.Bool
	// recoverMu runs one recovery of a store that lost its data at a time
	// (storelost.go), and guards loss.
	recoverMu sync.Mutex
	loss      lossState
	// lostAt is when this gateway noticed that the store lost its data
	// (Unix nanoseconds; 0: never).
	lostAt atomic.Int64
	// unsure is set from losing the store's event stream until this
	// gateway has checked what it holds and given the store back its
	// revocations (resync): a Redis that failed over to a replica may lack
	// a revocation made just before, and nobody is admitted on its word.
	unsure atomic.Bool
	// nodes is the list of media nodes rooms are pinned to.
	nodes nodeList
	// keepBans copies the bans to Caddy's storage (the latest gateway's
	// way), after a ban made anywhere: an admin's Remove reaches the store
	// from the media server, not through this gateway's API.
	keepBans atomic.Pointer[func(context.Context)]
	// outbox delivers webhooks to the latest gateway's receivers; storage
	// is where an in-process store's queues are copied.
	outbox         *webhook.Outbox
	storage        atomic.Pointer[Store]
	webhooksLoaded bool

	mu sync.Mutex
	// sessions are the host sessions with connections here, or within the
	// grace after their last one, by session id (the host token's jti).
	sessions map[string]*hostSession
	conns    map[*liveConn]struct{}
	// byRoom holds the same connections by room, so that counting a room's
	// people costs the room's size, not the whole gateway's.
	byRoom map[string]map[*liveConn]struct{}
	// revoked is every revocation this gateway heard of, until expiry: the
	// copy kept in Caddy's storage, which a store that lost its data is
	// given back.
	revoked       map[string]time.Time
	revokedLoaded bool
	// revokedNews says that revoked changed since the copy in Caddy's
	// storage was last written (keepRevoked writes it); keeperDone is
	// closed when keepRevoked has returned. Both nil for an in-process
	// store, whose revocations the API copies itself.
	revokedNews chan struct{}
	keeperDone  chan struct{}
	// roomExpiry arms, per API room that has people here, the cut at its
	// expiry.
	roomExpiry  map[string]roomTimer
	roomsLoaded bool
	bansLoaded  bool

	// placeKeys are the place keys this gateway held at its last recount.
	placeKeys map[string]bool

	tally tally // outcome counters, for metrics

	// sessionEnded, when set (in tests), hears of every session that ends.
	sessionEnded func(reason string)
}

// Sharing says where a State keeps what every gateway of the site must see.
type Sharing struct {
	// Store is the shared state; nil: a cluster.Memory of this State's own.
	Store cluster.Store
	// Lease is how long a host's presence recorded by this gateway lasts
	// unless renewed; 0: until let go, and says that the store lives in
	// this process (a cluster.Memory): it answers at once, and what it
	// holds is copied to Caddy's storage for a restart.
	Lease time.Duration
}

// inProcess says whether the shared store lives in this process.
func (st *State) inProcess() bool { return st.lease == 0 }

// NewState makes an empty State on the given clock (nil: the real one).
func NewState(clock clockwork.Clock, sh Sharing) *State {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if sh.Store == nil {
		sh.Store, sh.Lease = cluster.NewMemory(clock), 0
	}
	ctx, stop := context.WithCancel(context.Background())
	st := &State{
		clock:      clock,
		guard:      hostlogin.NewGuard(clock),
		shared:     sh.Store,
		holder:     accesstoken.NewID()[:16],
		lease:      sh.Lease,
		stop:       stop,
		sessions:   map[string]*hostSession{},
		conns:      map[*liveConn]struct{}{},
		byRoom:     map[string]map[*liveConn]struct{}{},
		revoked:    map[string]time.Time{},
		roomExpiry: map[string]roomTimer{},
	}
	st.logger.Store(zap.NewNop())
	st.startOutbox(ctx)
	if !st.inProcess() {
		// Every revocation heard, from any gateway, goes into this
		// gateway's copy (before the first can be heard).
		st.revokedNews, st.keeperDone = make(chan struct{}, 1), make(chan struct{})
		go st.keepRevoked(ctx)
	}
	st.shared.Watch(ctx, st.apply)
	if st.lease > 0 {
		// This gateway's places count from its first admission.
		st.renewHolder(ctx)
		go st.renewPresence(ctx)
	}
	return st
}

func (st *State) log() *zap.Logger { return st.logger.Load() }

// Destruct stops the State's timers and its watch on the shared store; it
// runs when no gateway uses it any more. Live connections are left to the
// proxy that carries them.
func (st *State) Destruct() error {
	st.stop()
	if st.keeperDone != nil {
		// The last revocations heard are written; a storage that hangs
		// does not hold the stop up for long.
		select {
		case <-st.keeperDone:
		case <-time.After(4 * sharedTimeout):
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.sessions {
		s.stopTimers()
	}
	for c := range st.conns {
		if c.eject != nil {
			c.eject.Stop()
		}
	}
	for _, t := range st.roomExpiry {
		t.timer.Stop()
	}
	return nil
}

// sharedTimeout bounds one call to the shared store from a request.
const sharedTimeout = 2 * time.Second

// An in-process store answers at once: no deadline (and no timer) needed.
func (st *State) sharedCtx(parent context.Context) (context.Context, context.CancelFunc) {
	if st.inProcess() {
		return parent, func() {}
	}
	return context.WithTimeout(parent, sharedTimeout)
}
