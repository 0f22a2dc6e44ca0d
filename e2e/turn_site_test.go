package e2e

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/internal/caddyrun"
)

const turnRealm = "roomgate.test"

// turnGlobals is the turn block of a Caddyfile that serves on port.
func turnGlobals(port int, words string) string {
	return fmt.Sprintf(`turn {
		listen 127.0.0.1:%d
		relay_ip 127.0.0.1
		relay_ports 40000-40999
		realm %s
		%s
	}`, port, turnRealm, words)
}

// turnGlobalsWithSecret is turnGlobals with the test secret given.
func turnGlobalsWithSecret(port int, words string) string {
	return turnGlobals(port, "secret "+testSecret+"\n\t\t"+words)
}

// newTURNSite is the media site with the turn app beside it, and the
// gateway handing it to admitted peers.
func newTURNSite(t testing.TB, turnWords, words string) (*mediaSite, int) {
	t.Helper()
	tp := caddyrun.FreePort(t)
	s := newMediaSiteConfig(t, siteConfig{
		words:   fmt.Sprintf("turn turn:127.0.0.1:%d?transport=udp\n\t\t%s", tp, words),
		globals: turnGlobalsWithSecret(tp, turnWords),
	})
	return s, tp
}

// newTURNOnly is Caddy running nothing but the turn app, as a TURN server
// of its own in a region would.
func newTURNOnly(t testing.TB, turnWords string) (*caddyrun.Instance, int) {
	t.Helper()
	tp := caddyrun.FreePort(t)
	return caddyrun.Start(t, fmt.Sprintf("{\n\t%s\n}\n", turnGlobalsWithSecret(tp, turnWords))), tp
}

// turnCredential mints what the gateway would hand a peer named user.
func turnCredential(user string, expires time.Time) accesstoken.TURNCredential {
	return accesstoken.MintTURN(accesstoken.TURNSharedSecret(accesstoken.Secret(testSecret)), user, expires)
}

// quietLogs keeps pion's client from printing refusals the test expects.
var quietLogs = func() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}()

// turnClient is pion's TURN client, started, on its own loopback socket.
func turnClient(t testing.TB, port int, username, password string) *turn.Client {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: fmt.Sprintf("127.0.0.1:%d", port),
		Username:       username, Password: password, Conn: conn,
		RTO: 200 * time.Millisecond, LoggerFactory: quietLogs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	return c
}

// udpEcho answers every datagram with the same bytes and counts them.
type udpEcho struct {
	conn *net.UDPConn
	got  atomic.Int64
}

func newUDPEcho(t testing.TB, network, addr string) *udpEcho {
	t.Helper()
	la, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP(network, la)
	if err != nil {
		t.Skipf("no %s socket here: %v", addr, err)
	}
	e := &udpEcho{conn: c}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1600)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			e.got.Add(1)
			c.WriteToUDP(buf[:n], from)
		}
	}()
	return e
}

func (e *udpEcho) addr() *net.UDPAddr { return e.conn.LocalAddr().(*net.UDPAddr) }
