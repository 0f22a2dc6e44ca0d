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
	who     Participant     // for the participants API
	lobby   bool            // waiting to be let in: not in the room yet
	places  []cluster.Place // taken in the shared store, given back at release
	// tokenRecord is the token whose limits this connection counts against.
	tokenRecord string
	identities  []string // who the person verifiably is, for bans (identitiesOf)
	apiRoom     bool     // the room was made through the API

	cancel      context.CancelFunc // ends the proxied request; reverse_proxy then closes both sides
	netConn     *streamConn        // the hijacked client connection, once upgraded
	eject       clockwork.Timer
	established bool
	closed      bool
	leftSaid    bool // participant.left was sent
	// goodbye is closed when the close frame of a cut has been written:
	// the request must not end before (Caddy counts the bytes written on
	// its connection, and logs the count when the request ends).
	goodbye chan struct{}
	// hooks are the room's own webhooks for people joining and leaving.
	joinHook, leftHook string
}

// closeLocked cuts the connection and tells the client why. The close
// frame is written outside the State's lock, before the proxied request is
// cancelled, so that it is the first close the client reads.
func (c *liveConn) closeLocked(why cut) {
	if c.closed {
		return
	}
	c.closed = true
	if c.netConn == nil {
		c.cancel()
		return
	}
	nc, cancel, done := c.netConn, c.cancel, make(chan struct{})
	c.goodbye = done
	go func() {
		defer close(done)
		nc.goodbye(why)
		cancel()
	}()
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
			c.closeLocked(cutTimeUp)
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
			c.closeLocked(cutSessionEnded)
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
func (st *State) hijacked(c *liveConn, nc *streamConn) {
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
	goodbye := c.goodbye
	var after func()
	if c.established && c.session != nil {
		after = st.hostLeftLocked(c.session, c.room, grace)
	}
	if c.established && !c.leftSaid {
		c.leftSaid = true
		st.notify("participant.left", c.room, c.who.event(), c.leftHook)
	}
	st.mu.Unlock()
	if goodbye != nil {
		<-goodbye // at most goodbyeTimeout
	}
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
	sc := &streamConn{Conn: nc}
	w.st.hijacked(w.conn, sc)
	return sc, brw, nil
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
//
// The writes are also followed frame by frame, so that the gateway can say
// goodbye with a close frame of its own between two of the media server's.
type streamConn struct {
	net.Conn
	wmu     sync.Mutex
	frames  frameTracker // guarded by wmu
	said    bool         // goodbye was called: nothing may follow it; guarded by wmu
	saidBye bool         // its close frame went out; guarded by wmu

	closeOnce sync.Once
	closeErr  error
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.said {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Write(p)
	c.frames.consume(p[:n])
	return n, err
}

// goodbye writes a close frame saying why, unless a frame is half written
// (then the client sees the connection drop, as it would without one), and
// closes the connection. The deadline also ends a write under way to a
// client that reads nothing.
func (c *streamConn) goodbye(why cut) {
	c.Conn.SetWriteDeadline(time.Now().Add(goodbyeTimeout))
	c.wmu.Lock()
	if c.frames.between() && !c.said {
		_, err := c.Conn.Write(why.closeFrame())
		c.saidBye = err == nil
	}
	c.said = true
	c.wmu.Unlock()
	c.Close()
}

// goodbyeLinger is how long a connection that said goodbye waits for the
// client to close its side.
const goodbyeLinger = time.Second

// Close closes the connection. After a goodbye it closes it a moment
// later (half-closing it at once where the connection allows: Caddy's
// hijacked connection does not): closing a socket with unread data in it
// (the client's last messages, its answer to the close) sends a reset, and
// a reset can destroy the close frame before the browser reads it. What the
// client sends meanwhile is read by reverse_proxy's own copier, until it
// ends (Caddy counts what its connection reads: nothing else may read it
// at the same time).
func (c *streamConn) Close() error {
	c.closeOnce.Do(func() {
		c.wmu.Lock()
		bye := c.saidBye
		c.wmu.Unlock()
		if !bye {
			c.closeErr = c.Conn.Close()
			return
		}
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		time.AfterFunc(goodbyeLinger, func() { c.Conn.Close() })
	})
	return c.closeErr
}

func (w *upgradeWatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }
