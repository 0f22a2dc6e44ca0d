package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v4"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// selectedLocal is the type of the local candidate a client receives on.
func selectedLocal(t *testing.T, c *signal.Client) webrtc.ICECandidateType {
	t.Helper()
	for _, r := range c.Sub.GetReceivers() {
		if tr := r.Transport(); tr != nil {
			if pair, err := tr.ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
				return pair.Local.Typ
			}
		}
	}
	t.Fatal("no selected candidate pair")
	return 0
}

func TestRelayOnlyPeersTalkThroughTURN(t *testing.T) {
	t.Parallel()
	s, tp := newTURNSite(t, "", "")
	a := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{relay: true})
	b := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{relay: true})
	// The welcome hands each peer the TURN server with a credential of its own.
	for _, c := range []*signal.Client{a, b} {
		ice := c.Welcome.ICEServers
		if len(ice) != 1 || ice[0].URLs[0] != fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", tp) ||
			!strings.HasSuffix(ice[0].Username, ":"+c.ID()) || ice[0].Credential == "" {
			t.Fatalf("ICE servers in the welcome: %+v", ice)
		}
	}
	publishAV(t, a)
	publishAV(t, b)
	ra, rb := receive(a), receive(b)
	if !rb.hears(10, a.ID()) || !ra.hears(10, b.ID()) {
		t.Fatal("relay-only peers do not hear each other")
	}
	for _, c := range []*signal.Client{a, b} {
		if typ := selectedLocal(t, c); typ != webrtc.ICECandidateTypeRelay {
			t.Fatalf("%s receives over a %s candidate, not a relay", c.ID(), typ)
		}
	}
	// Two peers, two peer connections each: four relays, carrying the call.
	if n := metric(t, s.Instance, "roomgate_turn_allocations"); n < 4 {
		t.Fatalf("roomgate_turn_allocations %v", n)
	}
	if n := metric(t, s.Instance, "roomgate_turn_relayed_packets_total"); n < 40 {
		t.Fatalf("roomgate_turn_relayed_packets_total %v", n)
	}
}

func TestTURNAllocatesOnlyWithAGoodCredential(t *testing.T) {
	t.Parallel()
	_, tp := newTURNOnly(t, "")
	good := turnCredential("peer1", time.Now().Add(time.Minute))
	expired := turnCredential("peer1", time.Now().Add(-time.Minute))
	other := accesstoken.MintTURN(accesstoken.TURNSharedSecret(accesstoken.GenerateSecret()), "peer1", time.Now().Add(time.Minute))
	for name, cred := range map[string][2]string{
		"no credential":   {"", ""},
		"forged password": {good.Username, "Zm9yZ2Vk"},
		"expired":         {expired.Username, expired.Password},
		"another secret":  {other.Username, other.Password},
		"not a REST name": {"peer1", good.Password},
		"expiry tampered": {strings.Replace(good.Username, ":", "9:", 1), good.Password},
	} {
		if _, err := turnClient(t, tp, cred[0], cred[1]).Allocate(); err == nil {
			t.Errorf("%s: allocated", name)
		}
	}
	if _, err := turnClient(t, tp, good.Username, good.Password).Allocate(); err != nil {
		t.Fatalf("a good credential: %v", err)
	}
}

func TestTURNNeverRelaysInward(t *testing.T) {
	t.Parallel()
	in, tp := newTURNOnly(t, "")
	echo := newUDPEcho(t, "udp4", "127.0.0.1:0")
	port := echo.addr().Port
	cred := turnCredential("peer1", time.Now().Add(time.Minute))
	c := turnClient(t, tp, cred.Username, cred.Password)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	// Permissions are refused before any packet could leave; the addresses
	// that are not on this machine are only ever asked for.
	for _, to := range []string{"127.0.0.1", "10.0.0.1", "169.254.1.1", "0.0.0.0", "::1", "::ffff:127.0.0.1"} {
		peer := &net.UDPAddr{IP: net.ParseIP(to), Port: port}
		if err := c.CreatePermission(peer); err == nil {
			t.Errorf("permission to %s granted", to)
		}
		if ip := net.ParseIP(to); ip.IsLoopback() || ip.IsUnspecified() {
			relay.WriteTo([]byte("knock"), peer)
		}
	}
	time.Sleep(300 * time.Millisecond) // what was relayed would have arrived
	if n := echo.got.Load(); n != 0 {
		t.Fatalf("the echo server behind the relay got %d packets", n)
	}
	if n := metric(t, in, `roomgate_turn_refusals_total{reason="peer_address"}`); n < 6 {
		t.Fatalf("peer address refusals counted: %v", n)
	}

	// With allow_peer for it, the same allocation reaches it.
	if err := in.Reload(strings.Replace(in.Caddyfile(), "realm "+turnRealm, "realm "+turnRealm+"\n\t\tallow_peer 127.0.0.1/32", 1)); err != nil {
		t.Fatal(err)
	}
	if !echoedThrough(relay, echo.addr()) {
		t.Fatal("allow_peer 127.0.0.1/32: nothing came back through the relay")
	}
}

// echoedThrough sends through a relay to an echo server until the echo
// comes back, for up to 5 s.
func echoedThrough(relay net.PacketConn, to *net.UDPAddr) bool {
	buf := make([]byte, 1600)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		relay.WriteTo([]byte("hello"), to)
		relay.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, _, err := relay.ReadFrom(buf); err == nil && bytes.Equal(buf[:n], []byte("hello")) {
			return true
		}
	}
	return false
}

func TestTURNMediaServerBesideItIsReachableOnItsPortOnly(t *testing.T) {
	t.Parallel()
	s, tp := newTURNSite(t, "", "")
	echo := newUDPEcho(t, "udp4", "127.0.0.1:0")
	cred := turnCredential("peer1", time.Now().Add(time.Minute))
	c := turnClient(t, tp, cred.Username, cred.Password)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	// The permission for the media server's address is granted (ICE needs
	// it), but a packet to another port of that address is dropped.
	if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.udpPort}); err != nil {
		t.Fatalf("permission to the media server: %v", err)
	}
	for i := 0; i < 5; i++ {
		relay.WriteTo([]byte("knock"), echo.addr())
	}
	time.Sleep(300 * time.Millisecond)
	if n := echo.got.Load(); n != 0 {
		t.Fatalf("a service beside the media server got %d packets through the relay", n)
	}
}

func TestTURNQuotaPerUser(t *testing.T) {
	t.Parallel()
	_, tp := newTURNOnly(t, "quota 2")
	cred := turnCredential("peer1", time.Now().Add(time.Minute))
	first, err := turnClient(t, tp, cred.Username, cred.Password).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := turnClient(t, tp, cred.Username, cred.Password).Allocate(); err != nil {
		t.Fatal(err)
	}
	if _, err := turnClient(t, tp, cred.Username, cred.Password).Allocate(); err == nil {
		t.Fatal("a third allocation over a quota of 2")
	}
	// Another user has a quota of their own.
	other := turnCredential("peer2", time.Now().Add(time.Minute))
	if _, err := turnClient(t, tp, other.Username, other.Password).Allocate(); err != nil {
		t.Fatalf("another user: %v", err)
	}
	// A freed allocation (the client deletes it) makes room.
	first.Close()
	if !eventually(5*time.Second, func() bool {
		_, err := turnClient(t, tp, cred.Username, cred.Password).Allocate()
		return err == nil
	}) {
		t.Fatal("no allocation after one was freed")
	}
}

func TestRelayOutlivesItsCredentialAndItsLifetime(t *testing.T) {
	t.Parallel()
	_, tp := newTURNOnly(t, "allow_peer 127.0.0.1/32")
	echo := newUDPEcho(t, "udp4", "127.0.0.1:0")
	// The credential expires in about 2 s; the allocation lives 3 s unless
	// refreshed, and is refreshed every second.
	cred := turnCredential("peer1", time.Now().Add(2*time.Second))
	r, err := dialRawTURN(fmt.Sprintf("127.0.0.1:%d", tp), cred.Username, cred.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.allocate(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.permit(echo.addr()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for time.Since(start) < 9*time.Second {
		if err := r.refresh(3 * time.Second); err != nil {
			t.Fatalf("refresh %v after the start, %v after the credential's expiry: %v",
				time.Since(start).Round(time.Millisecond), time.Since(cred.Expires).Round(time.Millisecond), err)
		}
		if err := r.permit(echo.addr()); err != nil {
			t.Fatalf("permission refresh: %v", err)
		}
		r.send(echo.addr(), []byte("media"))
		select {
		case <-r.data:
		case <-time.After(2 * time.Second):
			t.Fatalf("no echo %v after the start", time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(time.Second)
	}
	// The expired credential starts nothing new.
	fresh, err := dialRawTURN(fmt.Sprintf("127.0.0.1:%d", tp), cred.Username, cred.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.allocate(3 * time.Second); err == nil {
		t.Fatal("a new allocation with an expired credential")
	}
	// Nor over TCP from the very address and port the live UDP allocation
	// uses (the server once took that for the allocation's own client).
	local := r.conn.LocalAddr().(*net.UDPAddr)
	tcp, err := net.DialTCP("tcp4", &net.TCPAddr{IP: local.IP, Port: local.Port}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: fmt.Sprintf("127.0.0.1:%d", tp), Conn: turn.NewSTUNConn(tcp),
		Username: cred.Username, Password: cred.Password, RTO: 200 * time.Millisecond, LoggerFactory: quietLogs,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	if relay, err := c.Allocate(); err == nil {
		relay.Close()
		t.Fatal("a new allocation over TCP from the live allocation's port with an expired credential")
	}
}

func TestTURNOverTLSUsesCaddysCertificate(t *testing.T) {
	t.Parallel()
	tp, tlsPort := caddyrun.FreePort(t), caddyrun.FreePort(t)
	s := newMediaSiteConfig(t, siteConfig{
		https:     true,
		siteWords: "tls internal",
		globals:   "skip_install_trust\n\t" + turnGlobalsWithSecret(tp, fmt.Sprintf("tls_listen 127.0.0.1:%d", tlsPort)),
	})
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(s.Dir, "caddy", "pki", "authorities", "local", "root.crt"))
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("Caddy's local CA root: %v", err)
	}
	// The site's certificate is issued when the site starts; wait for it.
	var conn *tls.Conn
	if !eventually(20*time.Second, func() bool {
		conn, err = tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{ServerName: "localhost", RootCAs: roots})
		return err == nil
	}) {
		t.Fatalf("TLS to the TURN server: %v", err)
	}
	defer conn.Close()
	// The certificate is the site's, verified against Caddy's CA above.
	if cs := conn.ConnectionState(); cs.PeerCertificates[0].VerifyHostname("localhost") != nil {
		t.Fatalf("certificate for %v", cs.PeerCertificates[0].DNSNames)
	}
	cred := turnCredential("peer1", time.Now().Add(time.Minute))
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: conn.RemoteAddr().String(), Conn: turn.NewSTUNConn(conn),
		Username: cred.Username, Password: cred.Password, LoggerFactory: quietLogs,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Allocate(); err != nil {
		t.Fatalf("allocation over TLS: %v", err)
	}
}

// A TURN client given an address sends no SNI (coturn's turnutils_uclient
// -S does that): it gets the realm's certificate, as docs/turn.md says.
func TestTURNOverTLSWithoutSNIServesTheRealmsCertificate(t *testing.T) {
	t.Parallel()
	tp, tlsPort := caddyrun.FreePort(t), caddyrun.FreePort(t)
	globals := strings.Replace(turnGlobalsWithSecret(tp, fmt.Sprintf("tls_listen 127.0.0.1:%d", tlsPort)), "realm "+turnRealm, "realm localhost", 1)
	s := newMediaSiteConfig(t, siteConfig{https: true, siteWords: "tls internal", globals: "skip_install_trust\n\t" + globals})
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(s.Dir, "caddy", "pki", "authorities", "local", "root.crt"))
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("Caddy's local CA root: %v", err)
	}
	var cs tls.ConnectionState
	if !eventually(20*time.Second, func() bool {
		raw, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort))
		if err != nil {
			return false
		}
		defer raw.Close()
		// No ServerName: Go sends no SNI; the chain is checked below.
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
		if c.Handshake() != nil {
			return false
		}
		cs = c.ConnectionState()
		return true
	}) {
		t.Fatal("no TLS handshake without SNI")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots, Intermediates: inter}); err != nil {
		t.Fatalf("the certificate served without SNI is not the realm's: %v (names %v)", err, leaf.DNSNames)
	}
}

func TestTURNSecretCommandPrintsWhatCoturnTakes(t *testing.T) {
	t.Parallel()
	out, err := caddyrun.Run(t, "turn-secret", "--secret", testSecret)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := accesstoken.TURNSharedSecret(accesstoken.Secret(testSecret)); strings.TrimSpace(out) != want {
		t.Fatalf("turn-secret printed %q, want %q", out, want)
	}
	// A credential signed with it is one the turn app takes (checked in
	// TestTURNAllocatesOnlyWithAGoodCredential); a short secret is refused.
	if out, err := caddyrun.Run(t, "turn-secret", "--secret", "short"); err == nil {
		t.Fatalf("a short secret was taken: %s", out)
	}
}
