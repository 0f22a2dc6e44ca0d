package gateway

import (
	"context"
	"sync"
	"time"
)

// Stats are the gateway's figures, for metrics. The maps' keys are a fixed
// set (roles and refusal codes), never a room, a person or an address.
type Stats struct {
	// Admitted counts signalling connections let through, by role.
	Admitted map[string]uint64
	// Refused counts signalling requests turned away, by refusal code.
	Refused map[string]uint64
	// Logins counts login attempts, by outcome: "ok" or a refusal code.
	Logins map[string]uint64
	// Events counts the shared state's events this gateway applied, by kind.
	Events map[string]uint64
	// Failovers counts rooms this gateway moved off a media node that was gone.
	Failovers uint64
	// Sessions and Connections are the host sessions with connections
	// here and the proxied signalling connections open now; Rooms the
	// rooms made through the API (on the whole site).
	Sessions, Connections, Rooms int
}

// tally counts outcomes under a lock of its own, so that counting never
// waits for the state's.
type tally struct {
	mu                                sync.Mutex
	admitted, refused, logins, events map[string]uint64
	failovers                         uint64
}

func (t *tally) add(m *map[string]uint64, key string) {
	t.mu.Lock()
	if *m == nil {
		*m = map[string]uint64{}
	}
	(*m)[key]++
	t.mu.Unlock()
}

func copyCounts(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Stats returns the counters and what is open now.
func (st *State) Stats() Stats {
	st.tally.mu.Lock()
	s := Stats{Admitted: copyCounts(st.tally.admitted), Refused: copyCounts(st.tally.refused), Logins: copyCounts(st.tally.logins),
		Events: copyCounts(st.tally.events), Failovers: st.tally.failovers}
	st.tally.mu.Unlock()
	st.mu.Lock()
	s.Sessions, s.Connections = len(st.sessions), len(st.conns)
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if rooms, err := st.shared.Rooms(ctx); err == nil {
		s.Rooms = len(rooms)
	}
	return s
}

func (st *State) countAdmitted(role string) { st.tally.add(&st.tally.admitted, role) }
func (st *State) countRefused(code string)  { st.tally.add(&st.tally.refused, code) }
func (st *State) countLogin(outcome string) { st.tally.add(&st.tally.logins, outcome) }
func (st *State) countEvent(kind string)    { st.tally.add(&st.tally.events, kind) }

func (st *State) countFailover() {
	st.tally.mu.Lock()
	st.tally.failovers++
	st.tally.mu.Unlock()
}
