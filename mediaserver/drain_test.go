package mediaserver

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// drainingNode starts a node of a one-process cluster and a peer in room
// standup on it.
func drainingNode(t *testing.T, timeout time.Duration) (*Server, *cluster.Memory, *signal.Client) {
	t.Helper()
	shared := cluster.NewMemory(nil)
	s, err := New(Config{Secret: testSecret, UDPPort: freeUDPPort(t), Shared: shared, DrainTimeout: timeout,
		Node:   cluster.Node{ID: "n1", Signal: "127.0.0.1:7880"},
		ICEIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pin, err := shared.Pin(ctx, "standup", []string{"n1"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := accesstoken.NewAdmissions(testSecret, nil).Mint(accesstoken.Admission{Room: "standup", Role: accesstoken.PeerGuest,
		Name: "ada", Node: "n1", Epoch: pin.Epoch, RegisteredClaims: jwt.RegisteredClaims{Subject: "ada"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := signal.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?room=standup",
		signal.DialOptions{Header: map[string][]string{accesstoken.AdmissionHeader: {a}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, shared, c
}

func TestDrainAnnouncesAtOnceAndEndsWhenTheRoomsDo(t *testing.T) {
	s, shared, ada := drainingNode(t, time.Hour)
	st, started, err := s.StartDrain()
	if err != nil || !started || !st.Draining || st.Rooms != 1 || st.Peers != 1 || st.Stopping {
		t.Fatalf("drain: %+v %v %v", st, started, err)
	}
	if _, again, _ := s.StartDrain(); again {
		t.Fatal("a second drain started over the first")
	}
	// The lease said so before StartDrain returned.
	nodes, _ := shared.Nodes(context.Background())
	if len(nodes) != 1 || !nodes[0].Draining {
		t.Fatalf("nodes %+v", nodes)
	}
	if _, err := shared.Pin(context.Background(), "retro", []string{"n1"}); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("a new room on the draining node: %v", err)
	}
	if s.Stats().Draining != true {
		t.Fatal("stats do not say draining")
	}
	done := make(chan struct{})
	go func() {
		s.Drain(context.Background())
		close(done)
	}()
	// A room is left: the drain goes on (a window, not a wait for a condition).
	select {
	case <-done:
		t.Fatal("the drain ended with a room still on the node")
	case <-time.After(100 * time.Millisecond):
	}
	ada.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the drain did not end when the last room did")
	}
}

func TestDrainDeadlineLeavesWhatIsLeftToClose(t *testing.T) {
	s, _, ada := drainingNode(t, 200*time.Millisecond)
	start := time.Now()
	s.Drain(context.Background())
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("the drain ended after %v, before its deadline", waited)
	}
	if st := s.DrainStatus(); st.Rooms != 1 || st.Stopping {
		t.Fatalf("after the deadline: %+v", st)
	}
	s.Close()
	select {
	case <-ada.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the peer left on the node was not told to go")
	}
	if b := ada.Bye(); b == nil || b.Reason != signal.ByeMoved {
		t.Fatalf("the peer left on the node got %+v", b)
	}
}

func TestOnlyANodeDrains(t *testing.T) {
	s, err := New(Config{Secret: testSecret, UDPPort: freeUDPPort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.StartDrain(); !errors.Is(err, ErrNotANode) {
		t.Fatalf("a lone media server drained: %v", err)
	}
}
