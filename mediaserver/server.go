package mediaserver

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// Server is one media server: its sockets, its rooms, and the signalling
// handler that admits peers.
type Server struct {
	cfg        Config
	engine     *engine
	admissions *accesstoken.Admissions
	issuer     *accesstoken.Issuer // for lobby passes
	log        *zap.Logger

	mu    sync.Mutex
	rooms map[string]*Room
	// used holds the admissions already presented, until they expire, so a
	// captured admission cannot be replayed.
	used   map[string]time.Time
	closed bool
	// retired counts what tracks that ended forwarded.
	retired    retired
	roomsMoved atomic.Uint64
	// ended are the meetings an admin ended here, until anyone but a host
	// or an admin may open them again.
	ended      map[string]time.Time
	events     chan queuedEvent
	stopEvents context.CancelFunc
	// stopNode ends this node's membership of a cluster; nil outside one.
	stopNode context.CancelFunc
	nodeDone chan struct{}
	// drain is this node's drain, under mu.
	drain drainState
	// registerMu keeps lease writes in order: a renewal that read the node
	// before a drain began does not land after the drain's own, and none
	// lands after the node left.
	registerMu sync.Mutex
}

// New opens the media sockets and returns a Server ready to take signalling
// connections through ServeHTTP.
func New(cfg Config) (*Server, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e, err := newEngine(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		engine:     e,
		admissions: accesstoken.NewAdmissions(cfg.Secret, cfg.Clock.Now),
		issuer:     accesstoken.NewIssuer(cfg.Secret, cfg.Clock.Now),
		log:        cfg.Logger,
		rooms:      map[string]*Room{},
		used:       map[string]time.Time{},
		ended:      map[string]time.Time{},
		events:     make(chan queuedEvent, 4096),
	}
	if cfg.Shared != nil {
		var ctx context.Context
		ctx, s.stopEvents = context.WithCancel(context.Background())
		go s.queueEvents(ctx)
	}
	if cfg.Node.ID != "" {
		var ctx context.Context
		ctx, s.stopNode = context.WithCancel(context.Background())
		s.nodeDone = make(chan struct{})
		// Registered before the first join can look for it; a cluster out
		// of reach now is tried again every second.
		s.register(ctx)
		go func() {
			defer close(s.nodeDone)
			s.runNode(ctx)
		}()
	}
	return s, nil
}

// Close tells every peer the server is closing, ends every call and
// releases the sockets. A node of a cluster first leaves it, and tells its
// peers to connect again: their rooms move to another node.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	reason, msg := signal.ByeClosing, "the media server is shutting down"
	if s.stopNode != nil {
		s.stopNode()
		<-s.nodeDone
		reason, msg = signal.ByeMoved, "this media server is shutting down; connecting again"
	}
	var told []*Peer
	for _, r := range rooms {
		r.mu.Lock()
		r.moved = s.stopNode != nil
		r.mu.Unlock()
		told = append(told, r.end(reason, msg)...)
	}
	s.waitByes(told)
	if s.stopEvents != nil {
		s.stopEvents()
	}
	s.engine.close()
	return nil
}

// byeWait bounds how long Close waits for its byes to go out.
const byeWait = 2 * time.Second

// waitByes waits until each peer's bye is written and its close frame sent
// (or its connection is gone), for byeWait at most in all. A process exits
// right after Close: a bye still queued then is lost, and its peer waits
// for a timeout instead of connecting again at once (to the room's new
// node, in a cluster). The bound keeps a stuck peer from holding the
// shutdown. Real time, not cfg.Clock: this is the process's own exit.
func (s *Server) waitByes(peers []*Peer) {
	if len(peers) == 0 {
		return
	}
	deadline := time.NewTimer(byeWait)
	defer deadline.Stop()
	for _, p := range peers {
		select {
		case <-p.written:
		case <-deadline.C:
			waiting := 0
			for _, p := range peers {
				select {
				case <-p.written:
				default:
					waiting++
				}
			}
			s.log.Warn("closing without every bye delivered", zap.Int("peers", waiting), zap.Duration("waited", byeWait))
			return
		}
	}
}

// ServeHTTP takes a signalling WebSocket that carries a valid admission.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	adm, status, code, msg := s.admit(r)
	if adm == nil {
		s.log.Debug("signalling refused", zap.String("reason", code))
		writeError(w, status, code, msg)
		return
	}
	room, code, msg := s.enterRoom(adm)
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{signal.Subprotocol},
		// The gateway checked the Origin; here the admission is what counts.
		InsecureSkipVerify: true,
	})
	if err != nil {
		if room != nil {
			room.entryFailed()
		}
		return
	}
	if room == nil {
		// A locked, full or ended room: said in the protocol, since a browser
		// cannot read the status of a refused upgrade.
		reason := signal.ByeRefused
		if code == codeMoved {
			reason = signal.ByeMoved
		}
		refuseInBand(r.Context(), conn, reason, code, msg)
		return
	}
	conn.SetReadLimit(signal.MaxMessageBytes)
	p := newPeer(s, room, adm, conn)
	p.run(r.Context(), adm)
}

// admit verifies the admission and that it was not presented before.
func (s *Server) admit(r *http.Request) (*accesstoken.Admission, int, string, string) {
	vals := r.Header.Values(accesstoken.AdmissionHeader)
	if len(vals) != 1 {
		return nil, http.StatusUnauthorized, "no_admission", "connect through the gateway"
	}
	a, err := s.admissions.Verify(vals[0])
	if err != nil {
		return nil, http.StatusUnauthorized, "bad_admission", "the admission is not valid: " + err.Error()
	}
	if a.Room != r.URL.Query().Get("room") {
		return nil, http.StatusUnauthorized, "bad_admission", "the admission is for another room"
	}
	if id := s.cfg.Node.ID; id != "" && (a.Node != id || a.Epoch <= 0) {
		return nil, http.StatusUnauthorized, "bad_admission", "the admission is for another media node"
	}
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, exp := range s.used {
		if now.After(exp) {
			delete(s.used, id)
		}
	}
	if _, seen := s.used[a.ID]; seen {
		return nil, http.StatusUnauthorized, "bad_admission", "the admission was used already"
	}
	s.used[a.ID] = a.ExpiresAt.Add(accesstoken.Leeway)
	return a, 0, "", ""
}

// codeMoved refuses an admission made for an older placement of the room
// than the one this node serves: the peer connects again and is sent where
// the room is now.
const codeMoved = "moved"

// enterRoom finds or opens the room, if the peer may enter it. A room this
// node starts serving takes its lock (in a cluster) and whether an admin
// ended it: an ended meeting is opened again only by a host or an admin.
func (s *Server) enterRoom(a *accesstoken.Admission) (*Room, string, string) {
	locked := false
	if !s.serves(a.Room) {
		st, err := s.roomStateFor(a.Room)
		if err != nil {
			s.log.Warn("reading a room's state from the cluster", zap.Error(err))
			return nil, "closing", "the media server cannot reach the cluster; try again"
		}
		if !st.EndedUntil.IsZero() {
			if !isAdmin(a.Role) {
				return nil, codeEnded, "the meeting has ended"
			}
			s.reopened(a.Room)
		}
		locked = st.Locked && st.EndedUntil.IsZero()
	}
	return s.roomFor(a, locked)
}

func (s *Server) serves(room string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[room] != nil
}

// roomFor finds or opens the room, if the peer may enter it; a room it
// opens starts locked or not.
func (s *Server) roomFor(a *accesstoken.Admission, locked bool) (*Room, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, "closing", "the media server is shutting down"
	}
	r := s.rooms[a.Room]
	if r == nil {
		r = newRoom(s, a.Room)
		r.locked, r.epoch = locked, a.Epoch
		s.rooms[a.Room] = r
		s.emit("room.started", a.Room, nil)
	}
	if code, msg := r.fence(a.Epoch); code != "" {
		return nil, code, msg
	}
	if code, msg := r.mayEnter(a); code != "" {
		return nil, code, msg
	}
	r.mu.Lock()
	r.entering++
	r.mu.Unlock()
	return r, "", ""
}

// forget drops an empty or ended room so the name can start afresh.
func (s *Server) forget(r *Room) {
	s.mu.Lock()
	// Under both locks: someone roomFor handed the room meanwhile keeps it.
	r.mu.Lock()
	mine := s.rooms[r.name] == r && (r.ended || r.emptyLocked())
	r.mu.Unlock()
	if mine {
		delete(s.rooms, r.name)
		s.noteEmptiedLocked()
	}
	s.mu.Unlock()
	if mine {
		s.released(r)
		r.mu.Lock()
		moved := r.moved
		r.mu.Unlock()
		if !moved {
			s.emit("room.ended", r.name, nil)
		}
	}
}

// refuseInBand tells an admitted connection why it may not enter, and closes it.
func refuseInBand(ctx context.Context, conn *websocket.Conn, reason, code, msg string) {
	b, _ := json.Marshal(signal.Message{Type: signal.TypeBye, Reason: reason, Code: code, Message: msg})
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	conn.Write(wctx, websocket.MessageText, b)
	conn.Close(websocket.StatusPolicyViolation, reason)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
