package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// connectSession joins room as a pion peer that comes back by itself,
// through the given gateways in turn.
func (p *person) connectSession(t testing.TB, room, token string, gateways ...*mediaSite) *signal.Session {
	t.Helper()
	var urls []string
	for _, g := range gateways {
		urls = append(urls, fmt.Sprintf("ws://localhost:%d/ws?%s", g.port, url.Values{"room": {room}}.Encode()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A Go client is not a browser page: no Origin, and one transport from
	// p's address to whichever gateway it tries.
	s, err := signal.Connect(ctx, urls, signal.SessionOptions{DialOptions: signal.DialOptions{
		Token:      token,
		HTTPClient: &http.Client{Transport: anyPortFrom(p.ip)},
		API:        loopbackAPI(t, joinOpts{}),
	}})
	if err != nil {
		t.Fatalf("%s joining %s: %v", p.ip, room, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// publishVideo publishes a video track of synthetic RTP, 50 packets a
// second, on every connection of the session, until it ends.
func publishVideo(t testing.TB, s *signal.Session) { publishTagged(t, s, 0) }

// videoIn counts the video packets a session receives, on any connection.
type videoIn struct {
	mu      sync.Mutex
	packets int
}

func countVideo(s *signal.Session) *videoIn {
	v := &videoIn{}
	go func() {
		for {
			select {
			case rt := <-s.Tracks():
				go func() {
					buf := make([]byte, 1500)
					for {
						if _, _, err := rt.Track.Read(buf); err != nil {
							return
						}
						v.mu.Lock()
						v.packets++
						v.mu.Unlock()
					}
				}()
			case <-s.Done():
				return
			}
		}
	}()
	return v
}

func (v *videoIn) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.packets
}

// flowing waits until n more packets than now arrive.
func (v *videoIn) flowing(n int, within time.Duration) bool {
	from := v.count()
	return eventually(within, func() bool { return v.count() >= from+n })
}

func (c *cluster) pinnedNode(t testing.TB, room string) *mediaNode {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	defer rdb.Close()
	id := rdb.HGet(context.Background(), "rg:pin:"+room, "node").Val()
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	t.Fatalf("room %s is pinned to %q", room, id)
	return nil
}

func TestClusterNodeKilledMidCallPeopleComeBackWithMediaAndTheLock(t *testing.T) {
	c := newCluster(t, 2, 2, "")
	g1, g2 := c.gateways[0], c.gateways[1]
	admin := g1.person(t, "127.0.0.2").mintToken(`{"roomName":"standup","isAdmin":true,"name":"Ada"}`)
	ada := g1.person(t, "127.0.0.2").connectSession(t, "standup", admin, g1, g2)
	bob := g2.person(t, "127.0.0.3").connectSession(t, "standup", "", g2, g1)
	publishVideo(t, ada)
	publishVideo(t, bob)
	adaIn, bobIn := countVideo(ada), countVideo(bob)
	if !adaIn.flowing(25, 15*time.Second) || !bobIn.flowing(25, 15*time.Second) {
		t.Fatalf("no media before the failure: ada got %d, bob %d", adaIn.count(), bobIn.count())
	}
	if err := ada.Client().Lock(true); err != nil {
		t.Fatal(err)
	}
	if !sessionEvent(bob, signal.TypeRoom, 5*time.Second) {
		t.Fatal("the lock was not announced")
	}

	holder := c.pinnedNode(t, "standup")
	lost := ada.Client()
	killed := time.Now()
	holder.Kill()
	adaBack, bobBack := ada.Rejoined(), bob.Rejoined()
	for name, back := range map[string]<-chan struct{}{"ada": adaBack, "bob": bobBack} {
		select {
		case <-back:
		case <-time.After(10*time.Second - time.Since(killed)):
			t.Fatalf("%s was not back within 10 s of the node's death", name)
		}
	}
	if !adaIn.flowing(25, 10*time.Second-time.Since(killed)) || !bobIn.flowing(25, 10*time.Second-time.Since(killed)) {
		t.Fatalf("media did not flow again within 10 s: ada got %d, bob %d", adaIn.count(), bobIn.count())
	}
	t.Logf("back with media %v after the kill", time.Since(killed).Round(10*time.Millisecond))
	// The connection the session moved on from is closed, media and all:
	// its tracks are not written towards the dead node any more.
	if st := lost.Sub.ConnectionState(); st != webrtc.PeerConnectionStateClosed {
		t.Fatalf("the lost connection's receiving side is %s", st)
	}
	if st := lost.Pub.ConnectionState(); st != webrtc.PeerConnectionStateClosed {
		t.Fatalf("the lost connection's sending side is %s", st)
	}
	now := c.pinnedNode(t, "standup")
	if now == holder {
		t.Fatal("the room is still pinned to the dead node")
	}
	// What an operator watches saw it.
	if f := metric(t, g1.Instance, "roomgate_cluster_failovers_total") + metric(t, g2.Instance, "roomgate_cluster_failovers_total"); f < 1 {
		t.Fatalf("failovers counted: %v", f)
	}
	if p := metric(t, now.Instance, "roomgate_cluster_pins"); p != 1 {
		t.Fatalf("pins on the node the room moved to: %v", p)
	}
	if n := metric(t, g1.Instance, "roomgate_cluster_redis_roundtrip_seconds_count"); n < 1 || metric(t, g1.Instance, "roomgate_cluster_redis_up") != 1 {
		t.Fatalf("Redis round trips timed: %v, up %v", n, metric(t, g1.Instance, "roomgate_cluster_redis_up"))
	}
	// The room is still locked: a newcomer is kept out, Bob (a guest who
	// was in) came back in.
	_, err := g2.person(t, "127.0.0.4").join("standup", joinOpts{})
	var refused *signal.ErrRefused
	if !asRefused(err, &refused) || refused.Code != "room_locked" {
		t.Fatalf("a newcomer after the failover: %v", err)
	}
}

// sessionEvent waits for an event of type typ on the session.
func sessionEvent(s *signal.Session, typ string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case m := <-s.Events():
			if m.Type == typ {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// anyPortFrom dials loopback from ip, on whatever port the URL names.
func anyPortFrom(ip string) *http.Transport {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, "tcp4", "127.0.0.1:"+port)
	}}
}

func asRefused(err error, into **signal.ErrRefused) bool {
	r, ok := err.(*signal.ErrRefused)
	*into = r
	return ok
}

func TestClusterFrozenNodeDoesNotKeepASecondCopy(t *testing.T) {
	c := newCluster(t, 1, 2, "")
	g := c.gateways[0]
	first, _, err := g.person(t, "127.0.0.2").welcome("standup")
	if err != nil {
		t.Fatal(err)
	}
	holder := c.pinnedNode(t, "standup")
	holder.Signal(syscall.SIGSTOP)
	thawed := false
	defer func() {
		if !thawed {
			holder.Signal(syscall.SIGCONT)
		}
	}()
	// Past the node's lease, a join moves the room to the other node.
	var moved *mediaNode
	if !eventually(10*time.Second, func() bool {
		// A join that reaches the frozen node hangs: each try is short.
		if _, m, err := g.person(t, "127.0.0.3").welcomeWithin("standup", 2*time.Second); err == nil && m.Type == signal.TypeWelcome {
			moved = c.pinnedNode(t, "standup")
			return moved != holder
		}
		return false
	}) {
		t.Fatal("the room did not move off the frozen node")
	}
	holder.Signal(syscall.SIGCONT)
	thawed = true
	// Thawed, the old node learns at its next renewal that the room moved,
	// and ends its copy: the person still on it is told to connect again.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		var m signal.Message
		_, b, err := first.Read(ctx)
		if err != nil {
			t.Fatalf("the frozen node's copy was not ended: %v", err)
		}
		if jsonUnmarshal(b, &m) == nil && m.Type == signal.TypeBye {
			if m.Reason != signal.ByeMoved {
				t.Fatalf("the old copy ended with %+v", m)
			}
			break
		}
	}
	if !eventually(5*time.Second, func() bool { return metric(t, holder.Instance, "roomgate_rooms") == 0 }) {
		t.Fatal("the thawed node still holds the room")
	}
}
