package mediaserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

var testSecret = accesstoken.Secret(strings.Repeat("k", 32))

func admissionHeader(t *testing.T, room, peer string) http.Header {
	t.Helper()
	a, err := accesstoken.NewAdmissions(testSecret, nil).Mint(accesstoken.Admission{
		Room: room, Role: accesstoken.PeerGuest, Name: peer, RegisteredClaims: jwt.RegisteredClaims{Subject: peer}})
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{accesstoken.AdmissionHeader: {a}}
}

func TestKeepAliveKeepsAnsweringPeersAndDropsSilentOnes(t *testing.T) {
	s, err := New(Config{Secret: testSecret, UDPPort: freeUDPPort(t), KeepAlive: 200 * time.Millisecond,
		ICEIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?room=standup"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A peer whose client reads answers pings by itself.
	awake, err := signal.Dial(ctx, url, signal.DialOptions{Header: admissionHeader(t, "standup", "awake")})
	if err != nil {
		t.Fatal(err)
	}
	defer awake.Close()
	// A peer that never reads again never answers a ping.
	silent, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: admissionHeader(t, "standup", "silent"), Subprotocols: []string{"roomgate"}})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.CloseNow()

	joined := waitFor(t, awake, signal.TypePeerJoined)
	left := waitFor(t, awake, signal.TypePeerLeft)
	if joined.Peer.ID != "silent" || left.Peer.ID != "silent" {
		t.Fatalf("joined %+v, left %+v", joined.Peer, left.Peer)
	}
	// Many intervals later, the answering peer is still in.
	select {
	case <-awake.Done():
		t.Fatal("the peer that answers pings was dropped")
	case <-time.After(time.Second):
	}
}

func waitFor(t *testing.T, c *signal.Client, typ string) *signal.Message {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.Events():
			if m.Type == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
			return nil
		}
	}
}
