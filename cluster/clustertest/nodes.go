package clustertest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roomgate/roomgate/cluster"
)

// Media nodes, pins and the state of rooms on them.

func node(id string) cluster.Node {
	return cluster.Node{ID: id, Signal: "10.0.0.1:7880", Region: "eu", TURN: []string{"turn:" + id + ".example.com:3478"}}
}

func testPinning(t *testing.T, a, b cluster.Store) {
	if _, err := a.Pin(ctx, "standup", []string{"n1"}); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("a pin with no live node: %v", err)
	}
	for _, id := range []string{"n1", "n2"} {
		lost, err := a.RegisterNode(ctx, node(id), time.Minute, nil)
		must(t, err)
		if len(lost) != 0 {
			t.Fatalf("a node holding nothing lost %v", lost)
		}
	}
	nodes, err := b.Nodes(ctx)
	must(t, err)
	if len(nodes) != 2 || nodes[0].ID != "n1" || nodes[1].TURN[0] != "turn:n2.example.com:3478" {
		t.Fatalf("nodes %+v", nodes)
	}
	p, err := b.Pin(ctx, "standup", []string{"gone", "n2", "n1"})
	must(t, err)
	if p.Node.ID != "n2" || p.Node.Signal != "10.0.0.1:7880" || p.Epoch <= 0 {
		t.Fatalf("first pin %+v", p)
	}
	// A live pin wins over any choice.
	again, err := a.Pin(ctx, "standup", []string{"n1"})
	must(t, err)
	if again.Node.ID != p.Node.ID || again.Epoch != p.Epoch {
		t.Fatalf("second pin %+v, first %+v", again, p)
	}
	// n2 keeps its room while it holds it at that epoch, and learns that a
	// room pinned to another node is not its own…
	retro, err := b.Pin(ctx, "retro", []string{"n1"})
	must(t, err)
	lost, err := a.RegisterNode(ctx, node("n2"), time.Minute, map[string]int64{"standup": p.Epoch, "retro": retro.Epoch})
	must(t, err)
	if !slices.Equal(lost, []string{"retro"}) {
		t.Fatalf("n2 lost %v", lost)
	}
	// …and loses it when it leaves: the room moves, under a larger epoch.
	must(t, b.LeaveNode(ctx, "n2"))
	moved, err := a.Pin(ctx, "standup", []string{"n2", "n1"})
	must(t, err)
	if moved.Node.ID != "n1" || moved.Epoch <= p.Epoch || !moved.Moved || p.Moved || again.Moved {
		t.Fatalf("after n2 left: %+v (was %+v)", moved, p)
	}
	lost, err = b.RegisterNode(ctx, node("n2"), time.Minute, map[string]int64{"standup": p.Epoch})
	must(t, err)
	if !slices.Equal(lost, []string{"standup"}) {
		t.Fatalf("n2 came back and did not learn it lost standup: %v", lost)
	}
	// The emptied room is unpinned only by its holder at its epoch.
	must(t, a.Unpin(ctx, "standup", "n1", p.Epoch))
	must(t, a.Unpin(ctx, "standup", "n2", moved.Epoch))
	if p, _ := b.Pin(ctx, "standup", []string{"n2"}); p.Node.ID != "n1" {
		t.Fatalf("a wrong unpin moved the room to %+v", p)
	}
	must(t, a.Unpin(ctx, "standup", "n1", moved.Epoch))
	if p, _ := b.Pin(ctx, "standup", []string{"n2"}); p.Node.ID != "n2" || p.Epoch <= moved.Epoch {
		t.Fatalf("after unpinning, the room went to %+v", p)
	}
}

// A store that came back empty (here: a fresh one) has no pins: a node
// serving rooms gives them back at its next renewal, under the epochs it
// holds, instead of taking them as moved and ending every call.
func testNodeGivesBackPinsOfAnEmptiedStore(t *testing.T, a, b cluster.Store) {
	_, err := a.RegisterNode(ctx, node("n2"), time.Minute, nil)
	must(t, err)
	retro, err := b.Pin(ctx, "retro", []string{"n2"})
	must(t, err)
	// The lost store counted epochs from a clock ahead of this one's: the
	// epoch given back, not the clock, must bound the next placement.
	held := time.Now().Add(time.Hour).UnixMicro()
	lost, err := a.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"standup": held, "retro": retro.Epoch})
	must(t, err)
	if !slices.Equal(lost, []string{"retro"}) {
		t.Fatalf("n1 lost %v, want only retro (pinned to n2)", lost)
	}
	p, err := b.Pin(ctx, "standup", []string{"n2", "n1"})
	must(t, err)
	if p.Node.ID != "n1" || p.Epoch != held || p.Moved {
		t.Fatalf("the given-back room is pinned %+v, want n1 at %d", p, held)
	}
	if r, _ := b.Pin(ctx, "retro", []string{"n1"}); r.Node.ID != "n2" || r.Epoch != retro.Epoch {
		t.Fatalf("n1 took retro from n2: %+v", r)
	}
	// Its next renewals keep it.
	lost, err = b.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"standup": held})
	must(t, err)
	if len(lost) != 0 {
		t.Fatalf("n1 lost %v at its next renewal", lost)
	}
	// When n1 dies the room moves, under a larger epoch than it gave back.
	must(t, a.LeaveNode(ctx, "n1"))
	moved, err := b.Pin(ctx, "standup", []string{"n1", "n2"})
	must(t, err)
	if moved.Node.ID != "n2" || moved.Epoch <= held || !moved.Moved {
		t.Fatalf("after n1 died: %+v, given back at %d", moved, held)
	}
	// n1, back, learns the room moved: a newer placement is not given back.
	lost, err = a.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"standup": held})
	must(t, err)
	if !slices.Equal(lost, []string{"standup"}) {
		t.Fatalf("n1 came back and did not learn it lost standup: %v", lost)
	}
	if again, _ := b.Pin(ctx, "standup", []string{"n1"}); again.Node.ID != "n2" || again.Epoch != moved.Epoch {
		t.Fatalf("n1's renewal took the room back: %+v", again)
	}
	// The holder unpins a given-back room at its epoch, as any other.
	lost, err = a.RegisterNode(ctx, node("n1"), time.Minute, map[string]int64{"retro2": 42})
	must(t, err)
	if len(lost) != 0 {
		t.Fatalf("n1 lost %v", lost)
	}
	must(t, a.Unpin(ctx, "retro2", "n1", 42))
	if p, _ := b.Pin(ctx, "retro2", []string{"n2"}); p.Node.ID != "n2" {
		t.Fatalf("after unpinning the given-back room it went to %+v", p)
	}
}

func testNodeLeaseLapses(t *testing.T, a, b cluster.Store) {
	_, err := a.RegisterNode(ctx, node("brief"), 30*time.Millisecond, nil)
	must(t, err)
	_, err = a.RegisterNode(ctx, node("n1"), time.Minute, nil)
	must(t, err)
	time.Sleep(60 * time.Millisecond) // the lease's own lifetime, not a condition
	nodes, err := b.Nodes(ctx)
	must(t, err)
	if len(nodes) != 1 || nodes[0].ID != "n1" {
		t.Fatalf("nodes after a lease lapsed: %+v", nodes)
	}
	p, err := b.Pin(ctx, "standup", []string{"brief", "n1"})
	must(t, err)
	if p.Node.ID != "n1" {
		t.Fatalf("pinned to %s", p.Node.ID)
	}
}

func testConcurrentFirstJoinsAgree(t *testing.T, a, b cluster.Store) {
	for _, id := range []string{"n1", "n2", "n3"} {
		_, err := a.RegisterNode(ctx, node(id), time.Minute, nil)
		must(t, err)
	}
	const n = 50
	pins := make([]cluster.Pin, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := a
			if i%2 == 1 {
				s = b
			}
			// Each asks for a different node first, as gateways with
			// different views of the load would.
			choices := []string{"n1", "n2", "n3"}
			choices[0], choices[i%3] = choices[i%3], choices[0]
			pins[i], errs[i] = s.Pin(ctx, "standup", choices)
		})
	}
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if pins[i].Node.ID != pins[0].Node.ID || pins[i].Epoch != pins[0].Epoch {
			t.Fatalf("join %d landed on %s@%d, join 0 on %s@%d", i, pins[i].Node.ID, pins[i].Epoch, pins[0].Node.ID, pins[0].Epoch)
		}
	}
}

func testRoomLockAndEjectDeadline(t *testing.T, a, b cluster.Store) {
	if st, err := b.RoomState(ctx, "standup"); err != nil || st != (cluster.RoomState{}) {
		t.Fatalf("a state before anyone set one: %+v %v", st, err)
	}
	must(t, a.SetRoomState(ctx, "standup", cluster.RoomState{Locked: true}))
	if st, err := b.RoomState(ctx, "standup"); err != nil || !st.Locked {
		t.Fatalf("the lock through the other handle: %+v %v", st, err)
	}
	ended := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	must(t, b.SetRoomState(ctx, "standup", cluster.RoomState{EndedUntil: ended}))
	if st, _ := a.RoomState(ctx, "standup"); st.Locked || !st.EndedUntil.Equal(ended) {
		t.Fatalf("after ending: %+v", st)
	}
	must(t, b.SetRoomState(ctx, "standup", cluster.RoomState{}))
	if st, _ := a.RoomState(ctx, "standup"); st != (cluster.RoomState{}) {
		t.Fatalf("a forgotten state: %+v", st)
	}

	// A token with a minute in rooms: two connections at once share one
	// clock; the time away does not count.
	exp := time.Now().Add(time.Hour)
	clock := cluster.TokenJoin{ID: "tok", Expires: exp, EjectAfter: time.Minute}
	j1, err := a.TokenJoin(ctx, clock)
	must(t, err)
	if left := time.Until(j1.Deadline); left < 59*time.Second || left > time.Minute {
		t.Fatalf("first join: %v left", left)
	}
	j2, err := b.TokenJoin(ctx, clock)
	must(t, err)
	if !j2.Deadline.Equal(j1.Deadline) {
		t.Fatalf("a second connection at once got its own clock: %v, %v", j2.Deadline, j1.Deadline)
	}
	must(t, a.TokenLeave(ctx, "tok", false))
	must(t, b.TokenLeave(ctx, "tok", false))
	time.Sleep(100 * time.Millisecond) // time away, not a condition
	j3, err := a.TokenJoin(ctx, clock)
	must(t, err)
	if moved := j3.Deadline.Sub(j1.Deadline); moved < 80*time.Millisecond || moved > 2*time.Second {
		t.Fatalf("coming back after 100 ms away moved the deadline by %v", moved)
	}
	must(t, a.TokenLeave(ctx, "tok", false))
}
