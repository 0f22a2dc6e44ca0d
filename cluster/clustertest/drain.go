package clustertest

import (
	"errors"
	"testing"
	"time"

	"github.com/roomgate/roomgate/cluster"
)

// A draining node keeps the rooms pinned to it, and their later joins,
// but no new room lands on it, whatever order the choices come in; with
// no other node, a new room has nowhere to go.
func testDrainingNodeKeepsItsRoomsTakesNoNew(t *testing.T, a, b cluster.Store) {
	for _, id := range []string{"n1", "n2"} {
		_, err := a.RegisterNode(ctx, node(id), time.Minute, nil)
		must(t, err)
	}
	standup, err := a.Pin(ctx, "standup", []string{"n1", "n2"})
	must(t, err)
	if standup.Node.ID != "n1" {
		t.Fatalf("pinned to %+v", standup)
	}
	draining := node("n1")
	draining.Draining = true
	_, err = b.RegisterNode(ctx, draining, time.Minute, map[string]int64{"standup": standup.Epoch})
	must(t, err)
	nodes, err := a.Nodes(ctx)
	must(t, err)
	if len(nodes) != 2 || !nodes[0].Draining || nodes[1].Draining {
		t.Fatalf("nodes %+v", nodes)
	}
	again, err := a.Pin(ctx, "standup", []string{"n2"})
	must(t, err)
	if again.Node.ID != "n1" || again.Epoch != standup.Epoch || again.Moved {
		t.Fatalf("a room on a draining node moved: %+v (was %+v)", again, standup)
	}
	retro, err := a.Pin(ctx, "retro", []string{"n1", "n2"})
	must(t, err)
	if retro.Node.ID != "n2" {
		t.Fatalf("a new room went to %+v while n1 drains", retro)
	}
	e, err := b.Enter(ctx, "board", []string{"n1", "n2"}, "g1", []cluster.Place{{Key: "room:board"}})
	must(t, err)
	if e.Pin == nil || e.Pin.Node.ID != "n2" {
		t.Fatalf("enter placed a new room on %+v", e.Pin)
	}
	if _, err := a.Pin(ctx, "planning", []string{"n1"}); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("a new room with only a draining node: %v", err)
	}
	// Once it leaves, its rooms move as from any node that left.
	must(t, b.LeaveNode(ctx, "n1"))
	moved, err := a.Pin(ctx, "standup", []string{"n1", "n2"})
	must(t, err)
	if moved.Node.ID != "n2" || moved.Epoch <= standup.Epoch || !moved.Moved {
		t.Fatalf("after the drained node left: %+v", moved)
	}
}
