package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/internal/redisrun"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// cluster is a site of several real processes on one Redis: gateways that
// pin rooms to media nodes, and media nodes, each a roomgate of its own.
type cluster struct {
	redis    *redisrun.Server
	gateways []*mediaSite
	nodes    []*mediaNode
	// nodeWords are more mediaserver options for every node.
	nodeWords string
}

// mediaNode is a roomgate that runs only the media server, as a node.
type mediaNode struct {
	*caddyrun.Instance
	id         string
	signalAddr string
	udpPort    int
}

// newCluster starts Redis, gateways and nodes (n1, n2, … on 127.0.0.11,
// 127.0.0.12, …).
func newCluster(t testing.TB, gateways, nodes int, gatewayWords string) *cluster {
	t.Helper()
	return newClusterWith(t, gateways, nodes, gatewayWords, "")
}

// newClusterWith is newCluster with more mediaserver options for the nodes.
func newClusterWith(t testing.TB, gateways, nodes int, gatewayWords, nodeWords string) *cluster {
	t.Helper()
	c := &cluster{redis: redisrun.Start(t), nodeWords: nodeWords}
	for i := range nodes {
		c.nodes = append(c.nodes, c.startNode(t, fmt.Sprintf("n%d", i+1), fmt.Sprintf("127.0.0.%d", 11+i)))
	}
	for range gateways {
		c.gateways = append(c.gateways, c.startGateway(t, gatewayWords))
	}
	return c
}

func (c *cluster) globals() string {
	return fmt.Sprintf("roomgate_cluster {\n\t\tredis redis://%s\n\t}", c.redis.Addr)
}

func (c *cluster) startNode(t testing.TB, id, ip string) *mediaNode {
	t.Helper()
	sig, udp := caddyrun.FreePort(t), caddyrun.FreePort(t)
	cf := fmt.Sprintf(`{
	%s
	mediaserver {
		signal %s:%d
		udp_port %d
		tcp_port off
		ice_ips 127.0.0.1/32
		secret %s
		node_id %s
		turn turn:%s.example.test:3478
		%s
	}
}
`, c.globals(), ip, sig, udp, testSecret, id, id, c.nodeWords)
	return &mediaNode{Instance: caddyrun.Start(t, cf), id: id, signalAddr: fmt.Sprintf("%s:%d", ip, sig), udpPort: udp}
}

func (c *cluster) startGateway(t testing.TB, words string) *mediaSite {
	t.Helper()
	port := caddyrun.FreePort(t)
	cf := fmt.Sprintf(`{
	%s
}
http://localhost:%d {
	roomgate {
		secret %s
		user alice %s
		api_key %s
		pin_rooms
		%s
	}
	reverse_proxy /ws {http.vars.roomgate_upstream} {
		stream_close_delay 5m
	}
}
`, c.globals(), port, testSecret, testPasswordHash(t), apiKey, words)
	return &mediaSite{Instance: caddyrun.Start(t, cf), port: port}
}

// peersOn reads how many peers each node serves now.
func (c *cluster) peersOn(t testing.TB) map[string]int {
	out := map[string]int{}
	for _, n := range c.nodes {
		out[n.id] = int(metric(t, n.Instance, "roomgate_peers"))
	}
	return out
}

// welcome opens a bare signalling connection (no peer connections) and
// returns the server's first message.
func (p *person) welcome(room string) (*websocket.Conn, signal.Message, error) {
	return p.welcomeWithin(room, 20*time.Second)
}

// welcomeWithin is welcome, given up after d.
func (p *person) welcomeWithin(room string, d time.Duration) (*websocket.Conn, signal.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://localhost:%d/ws?%s", p.port, url.Values{"room": {room}}.Encode()), &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: transportFrom(p.ip, p.port)},
		HTTPHeader:   http.Header{"Origin": {p.base}},
		Subprotocols: []string{"roomgate"},
	})
	if err != nil {
		return nil, signal.Message{}, err
	}
	p.t.Cleanup(func() { c.CloseNow() })
	var m signal.Message
	err = wsjson.Read(ctx, c, &m)
	return c, m, err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// writeCaddyfile writes a Caddyfile into a fresh directory and returns its path.
func writeCaddyfile(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
