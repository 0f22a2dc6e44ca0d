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
	// Sessions and Connections are the host sessions with connections
	// here and the proxied signalling connections open now; Rooms the
	// rooms made through the API (on the whole site).
	Sessions, Connections, Rooms int
}

// tally counts outcomes under a lock of its own, so that counting never
// waits for the state's.
type tally struct {
	mu                        sync.Mutex
	admitted, refused, logins map[string]uint64
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
	s := Stats{Admitted: copyCounts(st.tally.admitted), Refused: copyCounts(st.tally.refused), Logins: copyCounts(st.tally.logins)}
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
