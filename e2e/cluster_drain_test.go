package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/mediaserver"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// otherNode is the node of a two-node cluster that is not n.
func (c *cluster) otherNode(n *mediaNode) *mediaNode {
	if c.nodes[0] == n {
		return c.nodes[1]
	}
	return c.nodes[0]
}

// leaseDraining reads whether node id's lease in Redis says it drains,
// and whether there is a lease at all.
func (c *cluster) leaseDraining(t testing.TB, id string) (draining, live bool) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	defer rdb.Close()
	v, err := rdb.Get(context.Background(), "rg:node:"+id).Result()
	if err != nil {
		return false, false
	}
	return strings.Contains(v, `"draining":true`), true
}

// newRoomsLandOn opens n new rooms through g and checks each is pinned to want.
func (c *cluster) newRoomsLandOn(t testing.TB, g *mediaSite, prefix string, n int, want *mediaNode) {
	t.Helper()
	for i := range n {
		room := fmt.Sprintf("%s-%d", prefix, i)
		if _, m, err := g.person(t, "127.0.0.9").welcome(room); err != nil || m.Type != signal.TypeWelcome {
			t.Fatalf("a new room %s: %v %+v", room, err, m)
		}
		if on := c.pinnedNode(t, room); on != want {
			t.Fatalf("new room %s went to %s, want %s", room, on.id, want.id)
		}
	}
}

func drainStatus(t testing.TB, n *mediaNode) mediaserver.DrainStatus {
	t.Helper()
	res, err := http.Get("http://" + n.AdminAddr + "/roomgate/drain")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st mediaserver.DrainStatus
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&st) != nil {
		t.Fatalf("GET /roomgate/drain: %s", res.Status)
	}
	return st
}

// (a) and (b): a node told to drain by `roomgate drain` takes no new room
// at once; its call goes on, and a newcomer to that room still joins it
// there; when the room ends, the node stops by itself.
func TestClusterDrainTakesNoNewRoomKeepsItsCallThenStops(t *testing.T) {
	c := newClusterWith(t, 1, 2, "", "drain_timeout 2m")
	g := c.gateways[0]
	ada := g.person(t, "127.0.0.2").connectSession(t, "standup", "", g)
	bob := g.person(t, "127.0.0.3").connectSession(t, "standup", "", g)
	publishVideo(t, ada)
	publishVideo(t, bob)
	adaIn, bobIn := countVideo(ada), countVideo(bob)
	if !adaIn.flowing(25, 15*time.Second) || !bobIn.flowing(25, 15*time.Second) {
		t.Fatalf("no media before the drain: ada got %d, bob %d", adaIn.count(), bobIn.count())
	}
	holder := c.pinnedNode(t, "standup")
	other := c.otherNode(holder)

	out, err := caddyrun.Run(t, "drain", "--address", holder.AdminAddr)
	var answer mediaserver.DrainStatus
	if err != nil || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &answer) != nil {
		t.Fatalf("roomgate drain: %v\n%s", err, out)
	}
	if !answer.Draining || answer.Node != holder.id || answer.Rooms != 1 || answer.Peers != 2 ||
		!answer.Deadline.After(answer.Since.Add(time.Minute)) {
		t.Fatalf("roomgate drain answered %s", out)
	}
	// At once, before any renewal: the lease says so, and new rooms go to
	// the other node.
	if draining, _ := c.leaseDraining(t, holder.id); !draining {
		t.Fatal("the lease does not say the node drains")
	}
	c.newRoomsLandOn(t, g, "new", 6, other)
	if metric(t, holder.Instance, "roomgate_node_draining") != 1 || metric(t, other.Instance, "roomgate_node_draining") != 0 {
		t.Fatal("roomgate_node_draining does not say which node drains")
	}

	// The call goes on where it is, and a newcomer joins it there.
	cy := g.person(t, "127.0.0.4").connectSession(t, "standup", "", g)
	if on := c.pinnedNode(t, "standup"); on != holder {
		t.Fatalf("the room moved to %s while its node drained", on.id)
	}
	if n := metric(t, holder.Instance, "roomgate_peers"); n != 3 {
		t.Fatalf("%v peers on the draining node, want 3", n)
	}
	cyIn := countVideo(cy)
	if !adaIn.flowing(25, 10*time.Second) || !bobIn.flowing(25, 10*time.Second) || !cyIn.flowing(25, 10*time.Second) {
		t.Fatalf("media stopped on the draining node: ada %d, bob %d, cy %d", adaIn.count(), bobIn.count(), cyIn.count())
	}
	if ada.Joins() != 1 || bob.Joins() != 1 {
		t.Fatalf("people reconnected during the drain: ada %d, bob %d joins", ada.Joins(), bob.Joins())
	}
	if st := drainStatus(t, holder); !st.Draining || st.Rooms != 1 || st.Peers != 3 || st.Stopping {
		t.Fatalf("drain status %+v", st)
	}

	// The call ends: the node stops by itself, long before its timeout.
	ended := time.Now()
	for _, s := range []*signal.Session{ada, bob, cy} {
		s.Close()
	}
	select {
	case <-holder.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the drained node did not stop within 20 s of its last room's end")
	}
	t.Logf("the drained node stopped %v after its last room ended", time.Since(ended).Round(10*time.Millisecond))
	if _, live := c.leaseDraining(t, holder.id); live {
		t.Fatal("the stopped node left its lease behind")
	}
	if !strings.Contains(holder.Logs(), "drained: every room ended") {
		t.Fatalf("the node's logs do not say why it stopped:\n%s", holder.Logs())
	}
	c.newRoomsLandOn(t, g, "after", 2, other)
}

// (b): SIGTERM drains too; past drain_timeout what is left moves to the
// other node, and everyone comes back there with media.
func TestClusterDrainTimeoutMovesWhatIsLeftAndEveryoneComesBack(t *testing.T) {
	const timeout = 3 * time.Second
	c := newClusterWith(t, 2, 2, "", "drain_timeout 3s")
	g1, g2 := c.gateways[0], c.gateways[1]
	var sessions []*signal.Session
	var ins []*videoIn
	for i := range 3 {
		g, h := g1, g2
		if i%2 == 1 {
			g, h = g2, g1
		}
		s := g.person(t, fmt.Sprintf("127.0.0.%d", 2+i)).connectSession(t, "standup", "", g, h)
		publishVideo(t, s)
		sessions, ins = append(sessions, s), append(ins, countVideo(s))
	}
	for i, in := range ins {
		if !in.flowing(25, 15*time.Second) {
			t.Fatalf("peer %d: no media before the drain (%d packets)", i, in.count())
		}
	}
	holder := c.pinnedNode(t, "standup")
	other := c.otherNode(holder)
	rejoined := make([]<-chan struct{}, len(sessions))
	for i, s := range sessions {
		rejoined[i] = s.Rejoined()
	}

	stopped := time.Now()
	holder.Signal(syscall.SIGTERM)
	if !eventually(5*time.Second, func() bool { d, _ := c.leaseDraining(t, holder.id); return d }) {
		t.Fatal("after SIGTERM the node's lease does not say it drains")
	}
	c.newRoomsLandOn(t, g1, "new", 4, other)

	for i, ch := range rejoined {
		select {
		case <-ch:
		case <-time.After(timeout + 20*time.Second - time.Since(stopped)):
			t.Fatalf("peer %d did not come back within 20 s of the drain's end", i)
		}
		// What is left moves at the deadline, not before.
		if since := time.Since(stopped); since < timeout {
			t.Fatalf("peer %d was moved %v after SIGTERM, before drain_timeout %v", i, since, timeout)
		}
	}
	for i, in := range ins {
		if !in.flowing(25, 15*time.Second) {
			t.Fatalf("peer %d: no media after the move (%d packets)", i, in.count())
		}
	}
	t.Logf("every peer back with media %v after SIGTERM (drain_timeout %v)", time.Since(stopped).Round(10*time.Millisecond), timeout)
	if on := c.pinnedNode(t, "standup"); on != other {
		t.Fatalf("the room is on %s after the move", on.id)
	}
	select {
	case <-holder.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the drained node did not exit")
	}
	if !strings.Contains(holder.Logs(), "drain deadline passed") {
		t.Fatalf("the node's logs do not say the deadline passed:\n%s", holder.Logs())
	}
	for i, s := range sessions {
		select {
		case <-s.Done():
			t.Fatalf("peer %d's session ended: %v %+v", i, s.Err(), s.Final())
		default:
		}
	}
}

func TestClusterDrainTimeoutWordAndRefusals(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]any{"drain_timeout 90s": float64(90 * time.Second), "drain_timeout off": float64(-1)} {
		out, err := adapt(t, "{\n\troomgate_cluster {\n\t\tredis redis://127.0.0.1:6379\n\t}\n\tmediaserver {\n\t\tnode_id n1\n\t\t"+word+"\n\t}\n}\n")
		i := strings.Index(out, "{")
		var cfg struct{ Apps map[string]map[string]any }
		if err != nil || i < 0 || json.Unmarshal([]byte(out[i:]), &cfg) != nil {
			t.Fatalf("%s: %v\n%s", word, err, out)
		}
		if got := cfg.Apps["mediaserver"]["drain_timeout"]; got != want {
			t.Fatalf("%s adapted to %v", word, got)
		}
	}
	for _, word := range []string{"drain_timeout soon", "drain_timeout 0s", "drain_timeout 1s 2s"} {
		out, err := adapt(t, "{\n\tmediaserver {\n\t\t"+word+"\n\t}\n}\n")
		if err == nil || !strings.Contains(out, "Caddyfile:3") {
			t.Errorf("%q: err %v, output:\n%s\nwant the line", word, err, out)
		}
	}
	// A lone media server has nowhere to move its rooms.
	out, err := caddyrun.Run(t, "validate", "--adapter", "caddyfile", "--config", writeCaddyfile(t,
		fmt.Sprintf("{\n\tmediaserver {\n\t\tsignal 127.0.0.1:%d\n\t\tsecret %s\n\t\tdrain_timeout 1m\n\t}\n}\n", caddyrun.FreePort(t), testSecret)))
	if err == nil || !strings.Contains(out, "drain_timeout needs roomgate_cluster") {
		t.Fatalf("drain_timeout without a cluster: %v\n%s", err, out)
	}
}
