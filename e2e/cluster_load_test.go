package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/roomgate/roomgate/load"
)

// The load tool's meeting in six rooms of three, through two gateways onto
// two media nodes: the rooms spread over both; the node with more of them
// is killed (-9) as the measurement opens; everyone of its rooms comes
// back through the gateways, as the browser does, onto the other node
// with media flowing both ways, and the report counts each of them.
func TestClusterUnderLoad(t *testing.T) {
	c := newCluster(t, 2, 2, "")
	const rooms, per = 6, 3
	measuring := make(chan struct{})
	cfg := load.Config{
		Sites:    []string{fmt.Sprintf("http://localhost:%d", c.gateways[0].port), fmt.Sprintf("http://localhost:%d", c.gateways[1].port)},
		Scenario: load.Meeting, Room: "load", Rooms: rooms, Peers: per,
		// Rooms a second apart: the gateways see each node's load (renewed
		// every second) when they place the next.
		RoomEvery: time.Second,
		// Light media: six rooms' peers, four roomgate processes and the
		// race detector share two busy cores.
		VideoPPS: 30, AudioPPS: 10, Secret: testSecret,
		Duration: 5 * time.Second, JoinTimeout: 30 * time.Second, FailoverTimeout: 60 * time.Second,
		OnMeasure: func() { close(measuring) },
	}
	type result struct {
		rep *load.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := load.Run(context.Background(), cfg)
		done <- result{rep, err}
	}()
	select {
	case <-measuring:
	case res := <-done:
		t.Fatalf("the run ended before its window opened: %v %+v", res.err, res.rep)
	}

	// The rooms are on both nodes; the one with more goes.
	on := map[*mediaNode][]string{}
	for i := range rooms {
		room := fmt.Sprintf("load-%d", i+1)
		n := c.pinnedNode(t, room)
		on[n] = append(on[n], room)
	}
	if len(on) != 2 {
		t.Fatalf("the rooms are not spread over both nodes: %v", on)
	}
	victim, survivor := c.nodes[0], c.nodes[1]
	if len(on[survivor]) > len(on[victim]) {
		victim, survivor = survivor, victim
	}
	t.Logf("rooms on %s: %v; on %s: %v; killing %s", victim.id, on[victim], survivor.id, on[survivor], victim.id)
	victim.Kill()

	var res result
	select {
	case res = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the run did not end within 3 minutes of the kill")
	}
	rep := res.rep
	if res.err != nil || rep == nil {
		t.Fatalf("the run: %v", res.err)
	}
	t.Logf("admission p50 %v p99 %v max %v (%d, %d refused); failover p50 %v p99 %v max %v (%d people, %d times, %d lost); rooms %v then %v",
		rep.AdmissionP50, rep.AdmissionP99, rep.AdmissionMax, rep.Admissions, rep.UpgradeRefusals,
		rep.FailoverP50, rep.FailoverP99, rep.FailoverMax, rep.FailoverPeers, rep.Failovers, rep.FailoversLost,
		rep.RoomsByMediaAddress, rep.RoomsByMediaAddressAfter)
	if rep.Joins != rooms*per || rep.JoinFailures != 0 || rep.Rooms != rooms || rep.Gateways != 2 {
		t.Fatalf("joins: %+v", rep)
	}
	// The tool saw the same spread, each node by its media address.
	addr := func(n *mediaNode) string { return fmt.Sprintf("127.0.0.1:%d", n.udpPort) }
	if want := map[string]int{addr(victim): len(on[victim]), addr(survivor): len(on[survivor])}; !maps.Equal(rep.RoomsByMediaAddress, want) {
		t.Fatalf("rooms by media address when the window opened: %v, by pin %v", rep.RoomsByMediaAddress, want)
	}
	// Everyone of the dead node's rooms lost it and came back, with media
	// flowing to and from them; nobody else lost theirs.
	moved := len(on[victim]) * per
	if rep.FailoverPeers != moved || rep.Failovers < moved || rep.FailoversLost != 0 {
		t.Fatalf("%d people of the dead node's rooms; the report counts %d who lost their room, %d comebacks, %d never back (%v)",
			moved, rep.FailoverPeers, rep.Failovers, rep.FailoversLost, rep.Errors)
	}
	// The node's lease (3 s, renewed every second) holds its rooms for at
	// least 2 s after the kill: no comeback is quicker. The slowest is
	// within the failover timeout, or it would be counted lost.
	if rep.FailoverP50 < time.Second || rep.FailoverP99 < rep.FailoverP50 || rep.FailoverMax < rep.FailoverP99 {
		t.Fatalf("failover p50 %v, p99 %v, max %v", rep.FailoverP50, rep.FailoverP99, rep.FailoverMax)
	}
	// Every room is on the survivor (as the tool saw it before everyone
	// left: empty rooms are no longer pinned).
	if want := map[string]int{addr(survivor): rooms}; !maps.Equal(rep.RoomsByMediaAddressAfter, want) {
		t.Fatalf("rooms by media address after the comebacks: %v, want %v", rep.RoomsByMediaAddressAfter, want)
	}
	// Every join and every comeback was an admission through a gateway.
	if rep.Admissions < rooms*per+moved || rep.AdmissionP50 <= 0 || rep.AdmissionP99 < rep.AdmissionP50 || rep.AdmissionMax < rep.AdmissionP99 {
		t.Fatalf("admissions: %d, p50 %v, p99 %v, max %v", rep.Admissions, rep.AdmissionP50, rep.AdmissionP99, rep.AdmissionMax)
	}
}
