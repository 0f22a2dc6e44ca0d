package cluster

import (
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

// maxLoginKeys bounds the login failure buckets a Memory remembers.
const maxLoginKeys = 100_000

// Memory is a Store for one process: the default, when no cluster is
// configured. Events reach the watchers before the call that caused them
// returns.
type Memory struct {
	clock       clockwork.Clock
	incarnation string

	mu       sync.Mutex
	sessions map[string]Session
	byUser   map[string][]string // session ids, oldest first
	revoked  map[string]time.Time
	rooms    map[string]memoryRoom
	logins   map[string]*rate.Limiter
	// presence is until when each holder keeps each host session in each room.
	presence   map[presenceKey]time.Time
	nodes      map[string]memoryNode
	pins       map[string]memoryPin
	roomStates map[string]memoryRoomState
	tokens     map[string]*tokenRecord
	bans       map[banKey]Ban
	webhooks   map[string][][]byte
	holds      map[string]webhookHold
	places     map[string]int
	known      map[string]map[string]time.Time // user → address → until

	// wmu orders deliveries: one event reaches every watcher before the next.
	wmu      sync.Mutex
	watchers map[*watcher]struct{}
}

type memoryRoom struct {
	data    []byte
	expires time.Time
}

type presenceKey struct{ room, sess, holder string }

type watcher struct {
	ctx   context.Context
	apply func(Event)
}

// NewMemory returns an empty Memory on clock (nil: the real one).
func NewMemory(clock clockwork.Clock) *Memory {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Memory{
		clock:       clock,
		incarnation: rand.Text(),
		sessions:    map[string]Session{},
		byUser:      map[string][]string{},
		revoked:     map[string]time.Time{},
		rooms:       map[string]memoryRoom{},
		logins:      map[string]*rate.Limiter{},
		presence:    map[presenceKey]time.Time{},
		nodes:       map[string]memoryNode{},
		pins:        map[string]memoryPin{},
		roomStates:  map[string]memoryRoomState{},
		tokens:      map[string]*tokenRecord{},
		bans:        map[banKey]Ban{},
		webhooks:    map[string][][]byte{},
		holds:       map[string]webhookHold{},
		places:      map[string]int{},
		known:       map[string]map[string]time.Time{},
		watchers:    map[*watcher]struct{}{},
	}
}

func (m *Memory) publish(events ...Event) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	for _, e := range events {
		for w := range m.watchers {
			if w.ctx.Err() == nil {
				w.apply(e)
			}
		}
	}
}

// Watch implements Store.
func (m *Memory) Watch(ctx context.Context, apply func(Event)) {
	w := &watcher{ctx: ctx, apply: apply}
	m.wmu.Lock()
	m.watchers[w] = struct{}{}
	m.wmu.Unlock()
	context.AfterFunc(ctx, func() {
		m.wmu.Lock()
		delete(m.watchers, w)
		m.wmu.Unlock()
	})
}

func (r memoryRoom) live(now time.Time) bool { return r.expires.IsZero() || now.Before(r.expires) }

// CreateRoom implements Store.
func (m *Memory) CreateRoom(ctx context.Context, name string, data []byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	if r, ok := m.rooms[name]; ok && r.live(now) {
		return ErrExists
	}
	if len(m.rooms) >= MaxRooms {
		for k, r := range m.rooms {
			if !r.live(now) {
				delete(m.rooms, k)
			}
		}
		if len(m.rooms) >= MaxRooms {
			return ErrFull
		}
	}
	m.rooms[name] = memoryRoom{data: slices.Clone(data), expires: expires}
	return nil
}

// ReplaceRoom implements Store.
func (m *Memory) ReplaceRoom(ctx context.Context, name string, data []byte, expires time.Time) error {
	m.mu.Lock()
	if r, ok := m.rooms[name]; !ok || !r.live(m.clock.Now()) {
		m.mu.Unlock()
		return ErrNotFound
	}
	m.rooms[name] = memoryRoom{data: slices.Clone(data), expires: expires}
	m.mu.Unlock()
	m.publish(Event{Kind: EventRoomChanged, Room: name})
	return nil
}

// DeleteRoom implements Store.
func (m *Memory) DeleteRoom(ctx context.Context, name string) error {
	m.mu.Lock()
	r, ok := m.rooms[name]
	delete(m.rooms, name)
	m.mu.Unlock()
	if !ok || !r.live(m.clock.Now()) {
		return ErrNotFound
	}
	m.publish(Event{Kind: EventRoomDeleted, Room: name})
	return nil
}

// Room implements Store.
func (m *Memory) Room(ctx context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[name]
	if !ok || !r.live(m.clock.Now()) {
		return nil, ErrNotFound
	}
	return slices.Clone(r.data), nil
}

// Rooms implements Store.
func (m *Memory) Rooms(ctx context.Context) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	out := make([][]byte, 0, len(m.rooms))
	for _, r := range m.rooms {
		if r.live(now) {
			out = append(out, slices.Clone(r.data))
		}
	}
	return out, nil
}

// LoginWait implements Store.
func (m *Memory) LoginWait(ctx context.Context, buckets ...Bucket) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	var wait time.Duration
	for _, b := range buckets {
		lim := m.logins[b.Key]
		if lim == nil {
			if len(m.logins) >= maxLoginKeys && !m.pruneLoginsLocked(now) {
				// Under a flood of distinct keys, fail closed rather than forget.
				wait = max(wait, b.Refill)
			}
			continue
		}
		if t := lim.TokensAt(now); t < 1 {
			wait = max(wait, time.Duration((1-t)*float64(b.Refill)))
		}
	}
	return wait, nil
}

// LoginFailed implements Store.
func (m *Memory) LoginFailed(ctx context.Context, buckets ...Bucket) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	for _, b := range buckets {
		lim := m.logins[b.Key]
		if lim == nil {
			if len(m.logins) >= maxLoginKeys && !m.pruneLoginsLocked(now) {
				continue
			}
			lim = rate.NewLimiter(rate.Every(b.Refill), b.Burst)
			m.logins[b.Key] = lim
		}
		lim.AllowN(now, 1)
	}
	return nil
}

// pruneLoginsLocked forgets keys whose bucket has refilled; it reports
// whether room was made.
func (m *Memory) pruneLoginsLocked(now time.Time) bool {
	for k, lim := range m.logins {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(m.logins, k)
		}
	}
	return len(m.logins) < maxLoginKeys
}

// LoginSucceeded implements Store.
func (m *Memory) LoginSucceeded(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.logins, key)
	return nil
}

// RememberLogin implements Store.
func (m *Memory) RememberLogin(ctx context.Context, user, addr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	known := m.known[user]
	if known == nil {
		if len(m.known) >= maxLoginKeys {
			return nil // remembering is a kindness, not a duty
		}
		known = map[string]time.Time{}
		m.known[user] = known
	}
	for a, until := range known {
		if !now.Before(until) {
			delete(known, a)
		}
	}
	if _, ok := known[addr]; !ok && len(known) >= MaxKnownLogins {
		oldest := ""
		for a, until := range known {
			if oldest == "" || until.Before(known[oldest]) {
				oldest = a
			}
		}
		delete(known, oldest)
	}
	known[addr] = now.Add(LoginMemory)
	return nil
}

// KnownLogin implements Store.
func (m *Memory) KnownLogin(ctx context.Context, user, addr string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.known[user][addr]
	return ok && m.clock.Now().Before(until), nil
}

// HostPresent implements Store.
func (m *Memory) HostPresent(ctx context.Context, room, sess, holder string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[sess]; !ok {
		return ErrNotFound
	}
	m.presence[presenceKey{room, sess, holder}] = m.clock.Now().Add(ttl)
	return nil
}

// HostGone implements Store.
func (m *Memory) HostGone(ctx context.Context, room, sess, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.presence, presenceKey{room, sess, holder})
	return nil
}

// Hosted implements Store.
func (m *Memory) Hosted(ctx context.Context, room string) (bool, error) {
	return m.present(func(k presenceKey) bool { return k.room == room }), nil
}

// SessionPresent implements Store.
func (m *Memory) SessionPresent(ctx context.Context, sess string) (bool, error) {
	return m.present(func(k presenceKey) bool { return k.sess == sess }), nil
}

func (m *Memory) present(match func(presenceKey) bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	found := false
	for k, until := range m.presence {
		switch {
		case !now.Before(until):
			delete(m.presence, k)
		case match(k):
			found = true
		}
	}
	return found
}

var _ Store = (*Memory)(nil)
