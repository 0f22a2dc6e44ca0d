package gateway

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/cluster"
)

// liveConn is one admitted signalling connection, from the upgrade request
// until the proxied WebSocket ends. The gateway holds it so that it can cut
// the connection: at the ejection deadline, or when the host's session ends.
type liveConn struct {
	room    string
	session *hostSession // the host's session, nil for everyone else
	tokenID string
	who     participant     // for the participants API
	lobby   bool            // waiting to be let in: not in the room yet
	places  []cluster.Place // taken in the shared store, given back at release
	// tokenRecord is the token whose limits this connection counts against.
	tokenRecord string
	identity    string // who the person verifiably is, for bans
	apiRoom     bool   // the room was made through the API

	cancel      context.CancelFunc // ends the proxied request; reverse_proxy then closes both sides
	netConn     net.Conn           // the hijacked client connection, once upgraded
	eject       clockwork.Timer
	established bool
	closed      bool
	leftSaid    bool // participant.left was sent
	// hooks are the room's own webhooks for people joining and leaving.
	joinHook, leftHook string
}

func (c *liveConn) closeLocked() {
	if c.closed {
		return
	}
	c.closed = true
	c.cancel()
	if c.netConn != nil {
		c.netConn.Close()
	}
}

// ejectBackstop is how long after an ejection deadline the gateway cuts a
// connection itself. The media server removes the peer at the deadline and
// tells it why; the gateway's cut is for a media server that did not.
const ejectBackstop = 2 * time.Second

// trackLocked registers an admitted connection and arms its ejection.
func (st *State) trackLocked(c *liveConn, ejectAt time.Time) {
	st.conns[c] = struct{}{}
	if st.byRoom[c.room] == nil {
		st.byRoom[c.room] = map[*liveConn]struct{}{}
	}
	st.byRoom[c.room][c] = struct{}{}
	if !ejectAt.IsZero() {
		c.eject = st.clock.AfterFunc(ejectAt.Add(ejectBackstop).Sub(st.clock.Now()), func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			c.closeLocked()
		})
	}
}

// upgraded marks the connection as established: the upstream accepted it.
// A host's arrival is recorded in the shared store before the browser hears
// of it, so a guest it invites next finds the room hosted.
func (st *State) upgraded(c *liveConn) {
	st.mu.Lock()
	if c.established || c.closed {
		st.mu.Unlock()
		return
	}
	c.established = true
	c.who.JoinedAt = st.clock.Now()
	st.notify("participant.joined", c.room, c.who.event(), c.joinHook)
	s := c.session
	if s != nil {
		if s.ended {
			c.closeLocked()
			st.mu.Unlock()
			return
		}
		st.hostArrivedLocked(s, c.room)
	}
	st.mu.Unlock()
	if s != nil {
		st.hostPresent(s, c.room, st.presenceLease())
	}
}

// hijacked keeps the client's connection so that closing is immediate.
func (st *State) hijacked(c *liveConn, nc net.Conn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c.netConn = nc
	if c.closed {
		nc.Close()
	}
}

// release forgets a connection whose proxying has ended.
func (st *State) release(c *liveConn, grace time.Duration) {
	st.mu.Lock()
	var places []cluster.Place
	var token string
	refund := !c.established // a connection that never got in gives its invitation use back
	if _, ok := st.conns[c]; ok {
		places, token = c.places, c.tokenRecord
		delete(st.byRoom[c.room], c)
		if len(st.byRoom[c.room]) == 0 {
			delete(st.byRoom, c.room)
			if t, ok := st.roomExpiry[c.room]; ok {
				t.timer.Stop()
				delete(st.roomExpiry, c.room)
			}
		}
	}
	delete(st.conns, c)
	if c.eject != nil {
		c.eject.Stop()
	}
	c.closed = true
	c.cancel()
	var after func()
	if c.established && c.session != nil {
		after = st.hostLeftLocked(c.session, c.room, grace)
	}
	if c.established && !c.leftSaid {
		c.leftSaid = true
		st.notify("participant.left", c.room, c.who.event(), c.leftHook)
	}
	st.mu.Unlock()
	st.givePlaces(places)
	st.leaveToken(token, refund)
	if after != nil {
		after()
	}
}

// upgradeWatcher tells the State when the upstream switches protocols and
// hands it the hijacked connection. Unwrap keeps http.ResponseController
// working for everything else.
type upgradeWatcher struct {
	http.ResponseWriter
	st      *State
	conn    *liveConn
	connect bool // HTTP/2 or HTTP/3 extended CONNECT: 200 means upgraded
}

func (w *upgradeWatcher) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols || (w.connect && code == http.StatusOK) {
		w.st.upgraded(w.conn)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *upgradeWatcher) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.st.hijacked(w.conn, nc)
	return &streamConn{Conn: nc}, brw, nil
}

// streamConn is the hijacked connection with nothing but net.Conn's
// methods. The connection Caddy hands out has ReadFrom and WriteTo, and
// with them reverse_proxy's copies go through io.Copy's own 32 KiB buffer
// per direction for the life of the connection, whatever its
// stream_buffer_size says: two thirds of an idle signalling connection's
// memory. Without them the copies use stream_buffer_size.
//
// Writes are serialized: when reverse_proxy shuts down it writes a
// WebSocket close frame while its copier may be writing a frame of its own,
// which could interleave the two on the wire (and races on Caddy's byte
// counter).
type streamConn struct {
	net.Conn
	wmu sync.Mutex
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.Conn.Write(p)
}

func (w *upgradeWatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }
