package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

func TestClusterFiftyFirstJoinsLandOnOneNode(t *testing.T) {
	c := newCluster(t, 2, 3, "")
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	turnURLs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			g := c.gateways[i%2]
			_, m, err := g.person(t, fmt.Sprintf("127.0.0.%d", 2+i%5)).welcome("standup")
			if err == nil && (m.Type != signal.TypeWelcome || len(m.ICEServers) != 1 || len(m.ICEServers[0].URLs) != 1) {
				err = fmt.Errorf("first message %+v", m)
			}
			if err == nil {
				turnURLs <- m.ICEServers[0].URLs[0]
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	peers := c.peersOn(t)
	on := ""
	for id, p := range peers {
		switch p {
		case 0:
		case n:
			on = id
		default:
			t.Fatalf("the room is split over nodes: %v", peers)
		}
	}
	if on == "" {
		t.Fatalf("peers per node %v", peers)
	}
	// Everyone was handed the TURN server of the node the room is on.
	close(turnURLs)
	for u := range turnURLs {
		if u != "turn:"+on+".example.test:3478" {
			t.Fatalf("a peer of a room on %s was handed %s", on, u)
		}
	}
	// The room's pin names that node, and later joins go there too.
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	defer rdb.Close()
	if got := rdb.HGet(context.Background(), "rg:pin:standup", "node").Val(); got != on {
		t.Fatalf("pinned to %q, people on %q", got, on)
	}
	// Another room may go elsewhere; its people are all on one node too.
	for i := range 4 {
		if _, _, err := c.gateways[i%2].person(t, "127.0.0.8").welcome("retro"); err != nil {
			t.Fatal(err)
		}
	}
	peers = c.peersOn(t)
	total := 0
	for _, p := range peers {
		total += p
	}
	if total != n+4 {
		t.Fatalf("peers per node %v", peers)
	}
}

func TestClusterNodeRefusesAdmissionsMadeForAnotherNodeOrAnOlderPin(t *testing.T) {
	c := newCluster(t, 1, 2, "")
	if _, m, err := c.gateways[0].person(t, "127.0.0.2").welcome("standup"); err != nil || m.Type != signal.TypeWelcome {
		t.Fatalf("join: %v %+v", err, m)
	}
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	defer rdb.Close()
	pin := rdb.HGetAll(context.Background(), "rg:pin:standup").Val()
	var holder, other *mediaNode
	for _, n := range c.nodes {
		if n.id == pin["node"] {
			holder = n
		} else {
			other = n
		}
	}
	if holder == nil {
		t.Fatalf("pin %v", pin)
	}
	var epoch int64
	fmt.Sscan(pin["epoch"], &epoch)
	adm := accesstoken.NewAdmissions(accesstoken.Secret(testSecret), nil)
	mint := func(node string, epoch int64) string {
		s, err := adm.Mint(accesstoken.Admission{RegisteredClaims: jwt.RegisteredClaims{Subject: accesstoken.NewID()},
			Room: "standup", Role: accesstoken.PeerGuest, Node: node, Epoch: epoch})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dial := func(n *mediaNode, admission string) (*websocket.Conn, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h := http.Header{}
		if admission != "" {
			h.Set(accesstoken.AdmissionHeader, admission)
		}
		conn, resp, err := websocket.Dial(ctx, "ws://"+n.signalAddr+"/?room=standup", &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"roomgate"}})
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { conn.CloseNow() })
		return conn, http.StatusSwitchingProtocols
	}
	for name, a := range map[string]string{
		"no admission":                  "",
		"made for the other node":       mint(other.id, epoch),
		"made for no node":              mint("", 0),
		"made for the holder, no epoch": mint(holder.id, 0),
	} {
		if _, st := dial(holder, a); st != http.StatusUnauthorized {
			t.Fatalf("%s: %d", name, st)
		}
	}
	if _, st := dial(other, mint(holder.id, epoch)); st != http.StatusUnauthorized {
		t.Fatalf("the holder's admission at the other node: %d", st)
	}
	// An admission for an older placement of the room: told to connect again.
	conn, st := dial(holder, mint(holder.id, epoch-1))
	if conn == nil {
		t.Fatalf("an older pin's admission: %d", st)
	}
	var m signal.Message
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wsjson.Read(ctx, conn, &m); err != nil || m.Type != signal.TypeBye || m.Reason != signal.ByeMoved {
		t.Fatalf("an older pin's admission got %+v (%v)", m, err)
	}
	// The current pin's admission is taken.
	conn, _ = dial(holder, mint(holder.id, epoch))
	if conn == nil {
		t.Fatal("the current pin's admission was refused")
	}
	if err := wsjson.Read(ctx, conn, &m); err != nil || m.Type != signal.TypeWelcome {
		t.Fatalf("the current pin's admission got %+v (%v)", m, err)
	}
}

// With pin_rooms and no media node alive, nobody is admitted: a clear 503.
func TestClusterWithoutALiveNodeRefusesWithNoMediaServer(t *testing.T) {
	c := newCluster(t, 1, 0, "")
	_, err := c.gateways[0].person(t, "127.0.0.2").join("standup", joinOpts{})
	var refused *signal.ErrRefused
	if !errors.As(err, &refused) || refused.Status != http.StatusServiceUnavailable || refused.Code != "no_media_server" {
		t.Fatalf("a join with no media node: %v", err)
	}
}
