// Package signal is roomgate's signalling protocol: the JSON messages that
// travel over the WebSocket between a peer and the media server, their
// limits, and a Go client that speaks them (used by the tests and the load
// tool). docs/signalling.md describes the protocol for other clients.
package signal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
)

// Subprotocol is the WebSocket subprotocol of the signalling connection.
const Subprotocol = accesstoken.Subprotocol

// MaxMessageBytes is the largest message either side accepts. An SDP with
// a few dozen media sections fits well within it.
const MaxMessageBytes = 64 << 10

// Which peer connection a negotiation message is about. Each peer has two:
// one it publishes on (it offers) and one it receives on (the server offers),
// so neither side ever has to resolve an offer collision.
const (
	PCPublish   = "pub"
	PCSubscribe = "sub"
)

// Message types.
const (
	// Server to client.
	TypeWelcome    = "welcome"     // you are in: Peer (you), Peers, Room, Locked, ICEServers, Token (a rejoin pass)
	TypePeerJoined = "peer-joined" // Peer
	TypePeerLeft   = "peer-left"   // Peer
	TypeRoom       = "room"        // room state changed: Locked
	TypeError      = "error"       // Code, Message: the last message was refused; nothing changed
	TypeBye        = "bye"         // Reason, Message: the server is closing the connection
	TypePong       = "pong"
	TypeLobby      = "lobby" // to admins: Peers, everyone waiting to be let in
	// TypePass renews the rejoin pass (Token) a welcome carries: the
	// client keeps the latest and offers it when it connects again.
	TypePass = "pass"
	// TypeSpeaker says who is speaking now (Target, a peer id), from the
	// audio levels publishers send; at most about three a second.
	TypeSpeaker = "speaker"
	// TypeQuality tells a subscriber which video streams it does not
	// receive because its link cannot carry them (Paused, stream ids), and
	// AudioOnly when that is every one it shows; sent when either changes.
	TypeQuality = "quality"
	// TypeConnection says how well media reaches a peer (Target), as the
	// server judges it from that peer's feedback: Level "good", "fair"
	// (some loss, or videos held below their tiles' size) or "poor" (heavy
	// loss, or video paused). Sent to the others when a level has held
	// for two seconds; PeerInfo.Connection carries the last one.
	TypeConnection = "connection"
	// TypeRole tells everyone in the room that someone's role changed
	// (Peer, the whole PeerInfo): on an open site, the room's owner passed
	// on, was taken back by its creator, or gave way to a host.
	TypeRole = "role"

	// Both ways.
	TypeOffer     = "offer"     // PC, SDP
	TypeAnswer    = "answer"    // PC, SDP
	TypeCandidate = "candidate" // PC, Candidate

	// Client to server.
	TypePing  = "ping"
	TypeKick  = "kick"  // Target, optional Ban: admins only
	TypeLock  = "lock"  // Locked: admins only
	TypeEnd   = "end"   // admins only: everyone leaves
	TypeAdmit = "admit" // Target: admins only: let a waiting peer in
	TypeDeny  = "deny"  // Target: admins only: turn a waiting peer away
	// TypeChat carries Text, at most MaxChatBytes: from a client, a message
	// to the room; from the server, to everyone, with Peer (who wrote it)
	// and At (Unix milliseconds). A welcome's Chat holds the room's last
	// messages.
	TypeChat = "chat"
	// TypeMute, from an admin, Target: that peer's microphone is no longer
	// forwarded until the peer unmutes itself (a state message with muted
	// false); the server tells the peer with a mute message of its own.
	TypeMute = "mute"
	// TypeState says what a client sends and shows of itself (Muted,
	// CameraOff, Hand: only the fields present change); the server passes
	// it on to everyone else as a state message with Peer, the whole of
	// the client's PeerInfo.
	TypeState = "state"
	// TypeView says how large the client shows each video stream it
	// receives (Views), so the server sends a layer that size; it replaces
	// the last one. A stream it does not list gets the top layer.
	TypeView = "view"
)

// Reasons in a bye.
const (
	ByeEjected = "ejected" // the admission's deadline passed
	ByeKicked  = "kicked"  // an admin removed the peer
	ByeEnded   = "ended"   // an admin ended the meeting
	ByeClosing = "closing" // the server is shutting down
	ByeError   = "error"   // the connection broke the protocol
	// ByeAdmitted closes a lobby connection that an admin let in; Token is
	// the pass to connect again with, as a member of the room.
	ByeAdmitted = "admitted"
	ByeDenied   = "denied" // an admin turned the waiting peer away
	// ByeUnanswered closes a knock nobody answered within the lobby's wait.
	ByeUnanswered = "unanswered"
	// ByeMoved says the room is now served by another media server (this
	// one lost it, or is leaving): connect again, through any gateway,
	// with the same credentials.
	ByeMoved = "moved"
	// ByeRefused is the first and last message to an admitted connection
	// that may not enter: Code says why (room_locked, room_full,
	// room_ended, lobby_full, closing).
	ByeRefused = "refused"
)

// Message is every message of the protocol; Type says which fields count.
type Message struct {
	Type      string                   `json:"type"`
	PC        string                   `json:"pc,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Room      string                   `json:"room,omitempty"`
	Peer      *PeerInfo                `json:"peer,omitempty"`
	Peers     []PeerInfo               `json:"peers,omitempty"`
	Target    string                   `json:"target,omitempty"`
	Locked    *bool                    `json:"locked,omitempty"`
	Reason    string                   `json:"reason,omitempty"`
	Code      string                   `json:"code,omitempty"`
	Message   string                   `json:"message,omitempty"`
	Token     string                   `json:"token,omitempty"`
	// ICEServers, in a welcome, are the TURN servers to use, with
	// credentials for this peer.
	ICEServers []webrtc.ICEServer `json:"iceServers,omitempty"`
	// Screens, in a publisher's offer, are its stream ids that are screen
	// shares; subscribers receive those as ScreenStreamIDs.
	Screens []string `json:"screens,omitempty"`
	// Ban, in a kick, keeps the removed person out afterwards.
	Ban *Ban `json:"ban,omitempty"`
	// Muted, CameraOff and Hand, in a state message from a client, change
	// what the others are told of it.
	Muted     *bool `json:"muted,omitempty"`
	CameraOff *bool `json:"cameraOff,omitempty"`
	Hand      *bool `json:"hand,omitempty"`
	// Text is a chat message; At when the server relayed it.
	Text string `json:"text,omitempty"`
	At   int64  `json:"at,omitempty"`
	// Chat, in a welcome, is the room's last chat messages, oldest first.
	Chat []Message `json:"chat,omitempty"`
	// Views, in a view message, are the sizes of the client's tiles.
	Views []View `json:"views,omitempty"`
	// AudioOnly and Paused, in a quality message, are what the
	// subscriber's link cannot carry.
	AudioOnly *bool    `json:"audioOnly,omitempty"`
	Paused    []string `json:"paused,omitempty"`
	// Level, in a connection message, is the peer's connection quality.
	Level string `json:"level,omitempty"`
}

// View is how large a client shows one video stream, in device pixels;
// 0 by 0 is not shown at all (a hidden tile, a minimised window).
type View struct {
	Stream string `json:"stream"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// MaxChatBytes is the longest chat message.
const MaxChatBytes = 2000

// Limits of a view message.
const (
	MaxViews     = 128
	MaxViewPixel = 16384
)

// Ban is how long, and where, a removed person stays out: their verified
// identity (a token's externalUserId, a host's username), or for a guest
// with neither their address, for at most MaxAddressBan.
type Ban struct {
	// Everywhere bans from every room, not only this one.
	Everywhere bool `json:"everywhere,omitempty"`
	// Seconds is how long; 0: for ever (an address: MaxAddressBan).
	Seconds int64 `json:"seconds,omitempty"`
}

// Limits of a ban from the room.
const (
	MaxBanSeconds = 10 * 365 * 24 * 3600
	// MaxAddressBan bounds a ban of an address (a guest with no verified
	// identity): an address is shared and changes hands.
	MaxAddressBan = 24 * 3600
)

// MaxScreens is how many screen-share streams one offer may name.
const MaxScreens = 4

// PeerInfo is what everyone in a room may know about a peer. Muted,
// CameraOff and Hand are what the peer last said of itself (a state
// message): its microphone or camera turned off, its hand raised.
// Connection is how well media reaches it, as the server judges it:
// "good", "fair" or "poor" ("" until judged).
type PeerInfo struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Muted      bool   `json:"muted,omitempty"`
	CameraOff  bool   `json:"cameraOff,omitempty"`
	Hand       bool   `json:"hand,omitempty"`
	Connection string `json:"connection,omitempty"`
}

// Errors of Decode.
var (
	ErrTooLarge = errors.New("message is larger than 64 KiB")
	ErrInvalid  = errors.New("message is not valid")
)

// Decode parses and checks a message from a client. What it returns is safe
// to act on: known type, the fields that type needs, sizes within limits.
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxMessageBytes {
		return nil, ErrTooLarge
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrInvalid)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, err)
	}
	return &m, nil
}

func (m *Message) check() error {
	switch m.Type {
	case TypeOffer, TypeAnswer:
		if m.PC != PCPublish && m.PC != PCSubscribe {
			return errors.New(`pc must be "pub" or "sub"`)
		}
		if m.SDP == "" {
			return errors.New("sdp is missing")
		}
		if len(m.Screens) > MaxScreens {
			return fmt.Errorf("screens names more than %d streams", MaxScreens)
		}
		for _, id := range m.Screens {
			if id == "" || len(id) > 64 {
				return errors.New("a screens entry is empty or longer than 64 bytes")
			}
		}
	case TypeCandidate:
		if m.PC != PCPublish && m.PC != PCSubscribe {
			return errors.New(`pc must be "pub" or "sub"`)
		}
		if m.Candidate == nil {
			return errors.New("candidate is missing")
		}
	case TypeKick, TypeAdmit, TypeDeny, TypeMute:
		if m.Target == "" || len(m.Target) > 64 {
			return errors.New("target is missing")
		}
		if m.Ban != nil && (m.Type != TypeKick || m.Ban.Seconds < 0 || m.Ban.Seconds > MaxBanSeconds) {
			return errors.New("ban goes with kick, for 0 (for ever) to ten years of seconds")
		}
	case TypeLock:
		if m.Locked == nil {
			return errors.New("locked is missing")
		}
	case TypeChat:
		if strings.TrimSpace(m.Text) == "" || len(m.Text) > MaxChatBytes {
			return fmt.Errorf("text is empty or longer than %d bytes", MaxChatBytes)
		}
	case TypeState:
		if m.Muted == nil && m.CameraOff == nil && m.Hand == nil {
			return errors.New("state says nothing: muted, cameraOff or hand")
		}
	case TypeView:
		if len(m.Views) > MaxViews {
			return fmt.Errorf("views lists more than %d streams", MaxViews)
		}
		for _, v := range m.Views {
			if v.Stream == "" || len(v.Stream) > 200 {
				return errors.New("a view's stream is empty or longer than 200 bytes")
			}
			if v.Width < 0 || v.Height < 0 || v.Width > MaxViewPixel || v.Height > MaxViewPixel {
				return fmt.Errorf("a view's width and height are 0 to %d pixels", MaxViewPixel)
			}
		}
	case TypePing, TypeEnd:
	case "":
		return errors.New("type is missing")
	default:
		return fmt.Errorf("unknown type %.32q", m.Type)
	}
	return nil
}

// StreamID names the stream a subscriber receives a publisher's tracks in:
// the publisher's peer id, then the publisher's own stream id, so that a
// camera and a screen share arrive as two streams of one peer. A stream
// the publisher named a screen share has "screen" between the two.
func StreamID(peer, stream string, screen bool) string {
	if screen {
		return peer + "~" + screenMark + "~" + stream
	}
	return peer + "~" + stream
}

const screenMark = "screen"

// IsScreen reports whether a StreamID names a screen share.
func IsScreen(streamID string) bool {
	_, rest, _ := strings.Cut(streamID, "~")
	mark, _, ok := strings.Cut(rest, "~")
	return ok && mark == screenMark
}

// PeerOfStream returns the peer id a StreamID names.
func PeerOfStream(streamID string) string {
	if i := strings.IndexByte(streamID, '~'); i >= 0 {
		return streamID[:i]
	}
	return streamID
}
