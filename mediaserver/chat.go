package mediaserver

import (
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
	"golang.org/x/time/rate"
)

// Chat in a room is text relayed to everyone in it. A peer may send
// chatBurst messages at once, then one every chatEvery; the room keeps its
// last chatHistory messages for those who come later, in memory only: they
// are gone when the room ends.
const (
	chatHistory = 50
	chatBurst   = 5
	chatEvery   = 2 * time.Second
)

func newChatLimit() *rate.Limiter { return rate.NewLimiter(rate.Every(chatEvery), chatBurst) }

// chat relays one message of p's to the room, p included.
func (p *Peer) chat(text string) error {
	if !p.chatLimit.Allow() {
		return &protocolError{"too_many_chats", "slow down: too many chat messages"}
	}
	m := signal.Message{Type: signal.TypeChat, Peer: ptr(p.info()), Text: text, At: p.s.cfg.Clock.Now().UnixMilli()}
	p.room.mu.Lock()
	p.room.chat = append(p.room.chat, m)
	if len(p.room.chat) > chatHistory {
		p.room.chat = append(p.room.chat[:0:0], p.room.chat[len(p.room.chat)-chatHistory:]...)
	}
	p.room.mu.Unlock()
	p.room.broadcast(m, nil)
	return nil
}
