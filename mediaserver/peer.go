package mediaserver

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Limits on one signalling connection.
const (
	outQueue      = 256              // messages waiting for a slow reader before it is dropped
	writeTimeout  = 10 * time.Second // for one message to a peer
	readLimit     = 4 * signal.MaxMessageBytes
	messageRate   = 50 // messages per second a peer may send, on average
	messageBurst  = 100
	gatherTimeout = 10 * time.Second
)

// Peer is one admitted signalling connection and its two peer connections.
type Peer struct {
	id, name string
	tokenID  string // the jti of the token the peer came in with, if any
	identity string // who the gateway vouched the peer is, for bans
	role     accesstoken.PeerRole
	// mayOwn and ownerPass: the admission says the peer may own the room,
	// and when its owner pass was issued (owner.go); owner says it does.
	mayOwn    bool
	ownerPass time.Time
	owner     atomic.Bool
	// joined is when it joined the room; room.mu guards it.
	joined time.Time
	room   *Room
	// arrived: no longer on the way into room (Room.entering); room.mu
	// guards it.
	arrived bool
	s       *Server
	conn    *websocket.Conn
	log     *zap.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	out     chan outgoing
	byeMu   sync.Mutex
	saidBye bool
	// written is closed when the write loop ends: the bye, if one was
	// queued, is written and the close frame sent, or the connection is
	// gone. Server.Close waits on it.
	written chan struct{}

	pub, sub *webrtc.PeerConnection
	// estimator says what the peer's link can receive; views how large it
	// shows each stream; reallocate asks for a new choice of layers now
	// (allocate.go).
	estimator  estimate
	feedback   feedbackCount
	viewsMu    sync.Mutex
	views      map[string]view
	reallocate chan struct{}
	// resends is the budget for retransmissions to the peer, in bytes.
	resends *rate.Limiter
	// tracks are what the peer publishes now, by receiver (forward.go).
	tracksMu sync.Mutex
	tracks   map[*webrtc.RTPReceiver]*forwardTrack
	// screens are the stream ids the peer's last offer named screen shares.
	screens atomic.Pointer[[]string]

	// subs are the tracks this peer receives; guarded by room.mu.
	subs map[*forwardTrack]subscription

	// state is what the peer last said of itself (muted, camera off, hand).
	stateMu sync.Mutex
	state   signal.PeerInfo
	// mutedByAdmin stops its audio being forwarded until it unmutes itself.
	mutedByAdmin atomic.Bool
	// chatLimit is how fast it may chat (chat.go).
	chatLimit *rate.Limiter

	passMu sync.Mutex
	passes map[string]time.Time // rejoin passes handed out, by id, until expiry

	negMu        sync.Mutex
	offerPending bool // an offer on sub awaits its answer
	needOffer    bool // tracks changed while it did
}

type outgoing struct {
	b   []byte
	bye string // non-empty: close after this message, with this reason
}

func newPeer(s *Server, room *Room, a *accesstoken.Admission, conn *websocket.Conn) *Peer {
	p := &Peer{
		id: a.Subject, name: a.Name, tokenID: a.TokenID, identity: a.Identity, role: a.Role, room: room, s: s, conn: conn,
		mayOwn: a.MayOwn, ownerPass: ownerPassTime(a),
		log:        s.log.With(zap.String("room", room.name), zap.String("peer", a.Subject)),
		out:        make(chan outgoing, outQueue),
		written:    make(chan struct{}),
		subs:       map[*forwardTrack]subscription{},
		tracks:     map[*webrtc.RTPReceiver]*forwardTrack{},
		views:      map[string]view{},
		reallocate: make(chan struct{}, 1),
		chatLimit:  newChatLimit(),
		resends:    rate.NewLimiter(rate.Limit(initialEstimate/8*resendShare), initialEstimate/8/4),
		passes:     map[string]time.Time{},
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

func (p *Peer) info() signal.PeerInfo {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return signal.PeerInfo{ID: p.id, Name: p.name, Role: p.roleNow(), Muted: p.state.Muted, CameraOff: p.state.CameraOff, Hand: p.state.Hand, Connection: p.state.Connection}
}

// setConnection tells the room how well media reaches the peer.
func (p *Peer) setConnection(level string) {
	p.stateMu.Lock()
	p.state.Connection = level
	p.stateMu.Unlock()
	p.room.broadcast(signal.Message{Type: signal.TypeConnection, Target: p.id, Level: level}, p)
}

// muteByAdmin stops forwarding the peer's audio, tells it why, and tells the
// room it is muted.
func (p *Peer) muteByAdmin(by *Peer) {
	p.mutedByAdmin.Store(true)
	p.send(signal.Message{Type: signal.TypeMute, Message: by.name + " muted your microphone"})
	yes := true
	p.stateMu.Lock()
	p.state.Muted = yes
	p.stateMu.Unlock()
	p.room.broadcast(signal.Message{Type: signal.TypeState, Peer: ptr(p.info())}, p)
}

// setState keeps what the peer says of itself and tells the others.
func (p *Peer) setState(m *signal.Message) {
	if m.Muted != nil && !*m.Muted {
		p.mutedByAdmin.Store(false)
	}
	p.stateMu.Lock()
	for _, f := range []struct {
		to   *bool
		from *bool
	}{{&p.state.Muted, m.Muted}, {&p.state.CameraOff, m.CameraOff}, {&p.state.Hand, m.Hand}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	p.stateMu.Unlock()
	p.room.broadcast(signal.Message{Type: signal.TypeState, Peer: ptr(p.info())}, p)
}

// run serves the peer until it leaves or is removed.
func (p *Peer) run(reqCtx context.Context, a *accesstoken.Admission) {
	defer p.close()
	go p.writeLoop()
	if p.role == accesstoken.PeerLobby {
		p.runLobby()
		return
	}
	if err := p.openPeerConnections(); err != nil {
		p.log.Error("opening peer connections", zap.Error(err))
		p.bye(signal.ByeError, "the media server could not set up the call")
		<-p.ctx.Done()
		return
	}
	ice := iceServers(a.ICEServers)
	pass := p.newRejoinPass()
	ok := p.room.join(p, func(others []signal.PeerInfo, locked bool, chat []signal.Message) {
		p.send(signal.Message{Type: signal.TypeWelcome, Room: p.room.name, Peer: ptr(p.info()), Peers: others,
			Locked: &locked, ICEServers: ice, Token: pass, Chat: chat})
	})
	if !ok {
		p.bye(signal.ByeEnded, "the meeting has ended")
		<-p.ctx.Done()
		return
	}
	p.room.broadcast(signal.Message{Type: signal.TypePeerJoined, Peer: ptr(p.info())}, p)
	if p.mayAdmin() {
		p.room.tellAdminsLobby()
	}
	p.negotiate()

	if at := a.EjectAt(); !at.IsZero() {
		t := p.s.cfg.Clock.AfterFunc(at.Sub(p.s.cfg.Clock.Now()), func() {
			p.bye(signal.ByeEjected, "your time in this room is up")
			p.s.emit("participant.ejected", p.room.name, map[string]any{"peer": p.id, "name": p.name})
		})
		defer t.Stop()
	}
	go p.keepAlive()
	go p.renewRejoinPass()
	go p.allocateLoop()
	p.readLoop()
}

func (p *Peer) openPeerConnections() error {
	var err error
	if p.pub, err = p.s.engine.publish.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return err
	}
	sub, est, err := p.s.engine.newSubscriber(&p.feedback)
	if err != nil {
		return err
	}
	p.sub, p.estimator = sub, est
	p.pub.OnTrack(p.onTrack)
	for _, pc := range []*webrtc.PeerConnection{p.pub, p.sub} {
		pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			switch {
			case st == webrtc.PeerConnectionStateFailed:
				p.bye(signal.ByeError, "the media connection failed")
			case st == webrtc.PeerConnectionStateConnected && pc == p.sub:
				p.startSubscriptions()
			}
		})
	}
	return nil
}

// audit records an admin action on the audit log (see gateway/audit.go).
func (p *Peer) audit(event string, fields ...zap.Field) {
	p.s.cfg.Audit.Info(event, append([]zap.Field{zap.String("room", p.room.name), zap.String("peer", p.id),
		zap.String("role", p.roleNow()), zap.String("token_id", p.tokenID)}, fields...)...)
}

func (p *Peer) close() {
	p.cancel()
	p.room.leave(p)
	for _, pc := range []*webrtc.PeerConnection{p.pub, p.sub} {
		if pc != nil {
			pc.Close()
		}
	}
	p.conn.CloseNow()
}

// iceServers hands the admission's TURN servers on in WebRTC's form.
func iceServers(in []accesstoken.ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(in))
	for _, s := range in {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// isScreen reports whether the peer named stream a screen share.
func (p *Peer) isScreen(stream string) bool {
	if s := p.screens.Load(); s != nil {
		return slices.Contains(*s, stream)
	}
	return false
}
