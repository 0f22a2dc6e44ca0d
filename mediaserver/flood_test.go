package mediaserver

import (
	"testing"
	"time"
)

func TestAFloodIsToldToSlowDownOnce(t *testing.T) {
	g := newFloodGate()
	now := time.Unix(1_800_000_000, 0)
	count := func(n int) (passed, warned int) {
		for range n {
			ok, warn := g.pass(now)
			if ok {
				passed++
			}
			if warn {
				warned++
			}
		}
		return
	}
	if passed, warned := count(600); passed != messageBurst || warned != 1 {
		t.Fatalf("a flood of 600 at once: %d passed, %d warnings; want %d and 1", passed, warned, messageBurst)
	}
	// A second later the peer may send again; a new flood gets a new word.
	now = now.Add(time.Second)
	if passed, warned := count(200); passed != messageRate || warned != 1 {
		t.Fatalf("the next second: %d passed, %d warnings; want %d and 1", passed, warned, messageRate)
	}
}
