package mediaserver

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
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
	retired retired
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
	return &Server{
		cfg:        cfg,
		engine:     e,
		admissions: accesstoken.NewAdmissions(cfg.Secret, cfg.Clock.Now),
		issuer:     accesstoken.NewIssuer(cfg.Secret, cfg.Clock.Now),
		log:        cfg.Logger,
		rooms:      map[string]*Room{},
		used:       map[string]time.Time{},
	}, nil
}

// Close tells every peer the server is closing, ends every call and
// releases the sockets.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.end(signal.ByeClosing, "the media server is shutting down")
	}
	s.engine.close()
	return nil
}

// ServeHTTP takes a signalling WebSocket that carries a valid admission.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	adm, status, code, msg := s.admit(r)
	if adm == nil {
		s.log.Debug("signalling refused", zap.String("reason", code))
		writeError(w, status, code, msg)
		return
	}
	room, code, msg := s.roomFor(adm)
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{signal.Subprotocol},
		// The gateway checked the Origin; here the admission is what counts.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return
	}
	if room == nil {
		// A locked, full or ended room: said in the protocol, since a browser
		// cannot read the status of a refused upgrade.
		refuseInBand(r.Context(), conn, code, msg)
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

// roomFor finds or opens the room, if the peer may enter it.
func (s *Server) roomFor(a *accesstoken.Admission) (*Room, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, "closing", "the media server is shutting down"
	}
	r := s.rooms[a.Room]
	if r == nil {
		r = newRoom(s, a.Room)
		s.rooms[a.Room] = r
	}
	if code, msg := r.mayEnter(a); code != "" {
		return nil, code, msg
	}
	return r, "", ""
}

// forget drops an empty or ended room so the name can start afresh.
func (s *Server) forget(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
	}
}

// refuseInBand tells an admitted connection why it may not enter, and closes it.
func refuseInBand(ctx context.Context, conn *websocket.Conn, code, msg string) {
	b, _ := json.Marshal(signal.Message{Type: signal.TypeBye, Reason: signal.ByeRefused, Code: code, Message: msg})
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	conn.Write(wctx, websocket.MessageText, b)
	conn.Close(websocket.StatusPolicyViolation, signal.ByeRefused)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
