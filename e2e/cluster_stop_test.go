package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
)

// A node stopped with SIGTERM tells each of its peers `bye` `moved` before
// its process exits, so they connect again at once instead of waiting for
// a timeout. Several rounds: the byes used to be queued and lost with the
// process (issue 23: two rounds in three with six peers; here most byes
// of every round). The nodes do not drain (drain_timeout off): the move
// is what is tested here; cluster_drain_test.go tests the drain before it.
func TestClusterStoppedNodeSaysByeMovedToEveryPeer(t *testing.T) {
	const rounds, peers = 3, 6
	// A node for each round: each round stops the node its room is on.
	c := newClusterWith(t, 1, rounds, "", "drain_timeout off")
	g := c.gateways[0]
	var lost []string
	for round := range rounds {
		room := fmt.Sprintf("standup-%d", round)
		clients := make([]*signal.Client, peers)
		for i := range clients {
			clients[i] = g.person(t, fmt.Sprintf("127.0.0.%d", 2+i)).mustJoin(room, joinOpts{name: fmt.Sprintf("p%d", i)})
		}
		node := c.pinnedNode(t, room)
		if n := metric(t, node.Instance, "roomgate_peers"); n != peers {
			t.Fatalf("round %d: %v peers on the node, want %d", round, n, peers)
		}

		stopped := time.Now()
		node.Signal(syscall.SIGTERM)
		var missed []string
		for i, cl := range clients {
			select {
			case <-cl.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: peer %d's connection did not end within 10 s of SIGTERM", round, i)
			}
			// The client keeps the bye it read before its connection ended.
			switch b := cl.Bye(); {
			case b == nil:
				missed = append(missed, fmt.Sprintf("p%d: no bye", i))
			case b.Reason != signal.ByeMoved:
				missed = append(missed, fmt.Sprintf("p%d: bye %q", i, b.Reason))
			}
		}
		node.Stop() // waits for the process to exit
		t.Logf("round %d: %d of %d peers got bye moved; the node exited %v after SIGTERM",
			round, peers-len(missed), peers, time.Since(stopped).Round(time.Millisecond))
		if len(missed) > 0 {
			lost = append(lost, fmt.Sprintf("round %d lost %d: %s", round, len(missed), strings.Join(missed, ", ")))
		}
	}
	if len(lost) > 0 {
		t.Fatalf("peers of a stopped node saw their connection end without bye moved:\n%s", strings.Join(lost, "\n"))
	}
}
