package gateway

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// State is what a gateway keeps across config reloads: host sessions (and
// with them the allowlist of host addresses), the live signalling
// connections, and the login limits. The caddymodule package keeps one per
// master secret in a usage pool, so `caddy reload` drops no login and no call.
type State struct {
	clock  clockwork.Clock
	logger atomic.Pointer[zap.Logger]
	guard  *loginGuard

	mu       sync.Mutex
	sessions map[string]*hostSession   // by session id (the host token's jti)
	byUser   map[string][]*hostSession // oldest first
	// allowlist counts the live host sessions per address. Host rights need a
	// request from one of these addresses and the session's own token.
	allowlist map[netip.Addr]int
	conns     map[*liveConn]struct{}
	// byRoom holds the same connections by room, so that counting a room's
	// people costs the room's size, not the whole gateway's.
	byRoom map[string]map[*liveConn]struct{}
	// perAddr counts live signalling connections by client address (/64
	// for IPv6), for Config.MaxConnsPerAddress; lobbyPerAddr those of them
	// waiting in a lobby.
	perAddr      map[string]int
	lobbyPerAddr map[string]int
	// revoked holds revoked token ids until their expiry.
	revoked       map[string]time.Time
	revokedLoaded bool
	// rooms are the rooms made through the API.
	rooms       map[string]*Room
	roomTimers  map[string]clockwork.Timer
	roomsLoaded bool

	tally tally // outcome counters, for metrics

	// sessionEnded, when set (in tests), hears of every session that ends.
	sessionEnded func(user, reason string)
}

// NewState makes an empty State on the given clock (nil: the real one).
func NewState(clock clockwork.Clock) *State {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	st := &State{
		clock:        clock,
		guard:        newLoginGuard(clock),
		sessions:     map[string]*hostSession{},
		byUser:       map[string][]*hostSession{},
		allowlist:    map[netip.Addr]int{},
		conns:        map[*liveConn]struct{}{},
		byRoom:       map[string]map[*liveConn]struct{}{},
		perAddr:      map[string]int{},
		lobbyPerAddr: map[string]int{},
		revoked:      map[string]time.Time{},
		rooms:        map[string]*Room{},
		roomTimers:   map[string]clockwork.Timer{},
	}
	st.logger.Store(zap.NewNop())
	return st
}

func (st *State) log() *zap.Logger { return st.logger.Load() }

// Allowlisted reports whether addr belongs to a live host session.
func (st *State) Allowlisted(addr netip.Addr) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.allowlist[addr.Unmap()] > 0
}

// Destruct stops the State's timers; it runs when no gateway uses it any more.
// Live connections are left to the proxy that carries them.
func (st *State) Destruct() error {
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
	for _, t := range st.roomTimers {
		t.Stop()
	}
	return nil
}
