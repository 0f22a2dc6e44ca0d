package mediaserver

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/coder/websocket"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// A peer's signalling connection: reading and handling its messages,
// writing to it, keeping it alive, and the goodbyes that end it.

// readLoop handles the peer's messages one at a time. A bad message gets an
// error and changes nothing; the connection and the room go on.
func (p *Peer) readLoop() {
	p.conn.SetReadLimit(readLimit)
	gate := newFloodGate()
	for {
		typ, b, err := p.conn.Read(p.ctx)
		if err != nil {
			return
		}
		if ok, warn := gate.pass(time.Now()); !ok {
			if warn {
				p.sendError("too_many_messages", "slow down: too many messages")
			}
			continue
		}
		if typ != websocket.MessageText {
			p.sendError("bad_message", "messages are JSON text")
			continue
		}
		m, err := signal.Decode(b)
		if err != nil {
			p.sendError("bad_message", err.Error())
			continue
		}
		if err := p.handle(m); err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				p.sendError(pe.code, pe.msg)
			} else {
				p.sendError("refused", err.Error())
			}
		}
	}
}

// protocolError refuses one message with a code a program can test.
type protocolError struct{ code, msg string }

func (e *protocolError) Error() string { return e.msg }

var (
	errNotAdmin   = &protocolError{"forbidden", "only hosts, admins and the room's owner may do that"}
	errOutOfOrder = &protocolError{"out_of_order", "that message does not fit the negotiation's state"}
)

func (p *Peer) handle(m *signal.Message) error {
	if p.role == accesstoken.PeerLobby {
		return p.handleLobby(m)
	}
	switch m.Type {
	case signal.TypePing:
		p.send(signal.Message{Type: signal.TypePong})
	case signal.TypeView:
		p.setViews(m.Views)
	case signal.TypeState:
		p.setState(m)
	case signal.TypeChat:
		return p.chat(m.Text)
	case signal.TypeMute:
		if !p.mayAdmin() {
			return errNotAdmin
		}
		target := p.room.peer(m.Target)
		if target == nil {
			return &protocolError{"no_such_peer", "nobody with that id is in the room"}
		}
		target.muteByAdmin(p)
		p.audit("admin.muted", zap.String("target", m.Target))
	case signal.TypeOffer:
		if m.PC != signal.PCPublish {
			return errOutOfOrder
		}
		p.screens.Store(&m.Screens) // before the offer's tracks arrive
		return p.answerPublish(m.SDP)
	case signal.TypeAnswer:
		if m.PC != signal.PCSubscribe {
			return errOutOfOrder
		}
		return p.acceptAnswer(m.SDP)
	case signal.TypeCandidate:
		pc := p.pub
		if m.PC == signal.PCSubscribe {
			pc = p.sub
		}
		if err := pc.AddICECandidate(*m.Candidate); err != nil {
			return &protocolError{"bad_candidate", "the candidate was refused"}
		}
	case signal.TypeKick:
		if !p.mayAdmin() {
			return errNotAdmin
		}
		target := p.room.peer(m.Target)
		if !p.room.kick(m.Target) {
			return &protocolError{"no_such_peer", "nobody with that id is in the room"}
		}
		p.s.emit("participant.ejected", p.room.name, map[string]any{"peer": m.Target, "by": p.name})
		// After the kick, so the person hears why; a comeback in between
		// is cut by the ban's event at the gateway.
		if m.Ban != nil {
			if err := p.room.banPeer(p, target, m.Ban); err != nil {
				return err
			}
		}
		p.audit("admin.removed", zap.String("target", m.Target))
	case signal.TypeLock:
		if !p.mayAdmin() {
			return errNotAdmin
		}
		p.room.lock(*m.Locked)
		p.audit("admin.locked", zap.Bool("locked", *m.Locked))
	case signal.TypeEnd:
		if !p.mayAdmin() {
			return errNotAdmin
		}
		p.audit("admin.ended")
		p.s.endByAdmin(p.room, p.name)
	case signal.TypeAdmit, signal.TypeDeny:
		if !p.mayAdmin() {
			return errNotAdmin
		}
		if err := p.room.decide(p, m.Target, m.Type == signal.TypeAdmit); err != nil {
			return err
		}
		event := "lobby.denied"
		if m.Type == signal.TypeAdmit {
			event = "lobby.admitted"
		}
		p.audit(event, zap.String("target", m.Target))
	}
	return nil
}

// send queues m for the peer. A peer too slow to take its messages is
// dropped rather than allowed to hold up the room.
func (p *Peer) send(m signal.Message) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	select {
	case p.out <- outgoing{b: b}:
	default:
		p.log.Info("dropping a peer that does not read its messages")
		p.cancel()
	}
}

func (p *Peer) sendError(code, msg string) {
	p.send(signal.Message{Type: signal.TypeError, Code: code, Message: msg})
}

// bye tells the peer why it is being closed, then closes it.
func (p *Peer) bye(reason, msg string) {
	p.byeWith(signal.Message{Type: signal.TypeBye, Reason: reason, Message: msg})
}

// byeWith is bye with the whole message given.
func (p *Peer) byeWith(m signal.Message) {
	p.byeMu.Lock()
	defer p.byeMu.Unlock()
	if p.saidBye {
		return
	}
	p.saidBye = true
	b, _ := json.Marshal(m)
	select {
	case p.out <- outgoing{b: b, bye: m.Reason}:
	default:
		p.cancel()
	}
}

func (p *Peer) writeLoop() {
	defer close(p.written)
	for {
		select {
		case o := <-p.out:
			ctx, cancel := context.WithTimeout(p.ctx, writeTimeout)
			err := p.conn.Write(ctx, websocket.MessageText, o.b)
			cancel()
			if err != nil {
				p.cancel()
				return
			}
			if o.bye != "" {
				p.room.leave(p) // nobody sends to a peer that said goodbye
				p.conn.Close(websocket.StatusNormalClosure, o.bye)
				p.cancel()
				return
			}
		case <-p.ctx.Done():
			return
		}
	}
}

// keepAlive pings so that proxies see traffic on an idle connection, and
// drops a peer that does not answer within half the interval.
func (p *Peer) keepAlive() {
	t := p.s.cfg.Clock.NewTicker(p.s.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-t.Chan():
			ctx, cancel := context.WithTimeout(p.ctx, p.s.cfg.KeepAlive/2)
			err := p.conn.Ping(ctx)
			cancel()
			if err != nil {
				p.cancel()
				return
			}
		case <-p.ctx.Done():
			return
		}
	}
}
