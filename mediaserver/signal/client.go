package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/accesstoken"
)

// TokenSubprotocolPrefix carries a peer token in the subprotocol list, the
// way a browser must send it.
const TokenSubprotocolPrefix = accesstoken.SubprotocolTokenPrefix

// DialOptions shape a client's connection.
type DialOptions struct {
	// Token is the peer or host token, sent in the subprotocol list.
	Token string
	// Header is sent with the WebSocket upgrade (Origin, Authorization…).
	Header http.Header
	// HTTPClient dials the WebSocket; nil: http.DefaultClient.
	HTTPClient *http.Client
	// API makes the peer connections; nil: webrtc's defaults.
	API *webrtc.API
	// Configuration is used for both peer connections (ICE servers, policy).
	Configuration webrtc.Configuration
	// Rejoin is a rejoin pass from an earlier connection to the room: with
	// it the client comes back in even if the room was locked meanwhile.
	Rejoin string
	// OwnerPass is an owner pass from POST /owner-pass (an open site's start
	// page asks for one): with it the client takes the room from an owner
	// who became owner after the pass was issued.
	OwnerPass string
}

// RemoteTrack is a track the client receives, and whose it is.
type RemoteTrack struct {
	Peer     string
	Screen   bool // the publisher named its stream a screen share
	Track    *webrtc.TrackRemote
	Receiver *webrtc.RTPReceiver
}

// Client is one peer in a room: its signalling connection and its two peer
// connections, Pub (it publishes on, and offers) and Sub (it receives on).
type Client struct {
	// Welcome is the server's first message: who the client is, who is there.
	Welcome Message
	Pub     *webrtc.PeerConnection
	Sub     *webrtc.PeerConnection

	conn    *websocket.Conn
	ctx     context.Context
	cancel  context.CancelFunc
	events  chan *Message
	tracks  chan *RemoteTrack
	answers chan *Message
	writeMu sync.Mutex
	pubMu   sync.Mutex
	screens []string // stream ids published as screen shares; guarded by pubMu

	byeMu sync.Mutex
	bye   *Message
	err   error

	nacks, keyframeRequests atomic.Uint64
}

// ErrRefused is returned by Dial when the server refuses: with an HTTP
// error at the upgrade (Status is its status), or in its first message
// (Status is 0). Code says why.
type ErrRefused struct {
	Status int
	Code   string
	Msg    string
}

func (e *ErrRefused) Error() string {
	return fmt.Sprintf("refused with %d %s: %s", e.Status, e.Code, e.Msg)
}

// Dial opens the signalling WebSocket at url and waits for the welcome.
func Dial(ctx context.Context, url string, o DialOptions) (*Client, error) {
	protos := []string{Subprotocol}
	if o.Token != "" {
		protos = append(protos, TokenSubprotocolPrefix+o.Token)
	}
	if o.Rejoin != "" {
		protos = append(protos, accesstoken.SubprotocolRejoinPrefix+o.Rejoin)
	}
	if o.OwnerPass != "" {
		protos = append(protos, accesstoken.SubprotocolOwnerPrefix+o.OwnerPass)
	}
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: o.HTTPClient, HTTPHeader: o.Header, Subprotocols: protos,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			r := &ErrRefused{Status: resp.StatusCode}
			var body struct{ Error, Message string }
			if resp.Body != nil {
				json.NewDecoder(resp.Body).Decode(&body)
			}
			r.Code, r.Msg = body.Error, body.Message
			return nil, r
		}
		return nil, err
	}
	conn.SetReadLimit(4 * MaxMessageBytes)
	c := &Client{
		conn:    conn,
		events:  make(chan *Message, 256),
		tracks:  make(chan *RemoteTrack, 64),
		answers: make(chan *Message, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.readWelcome(ctx); err != nil {
		conn.CloseNow()
		return nil, err
	}
	api := o.API
	if api == nil {
		api = webrtc.NewAPI()
	}
	// The TURN servers the server hands out, with this peer's credential.
	pcConfig := o.Configuration
	pcConfig.ICEServers = append(append([]webrtc.ICEServer(nil), o.Configuration.ICEServers...), c.Welcome.ICEServers...)
	if c.Pub, err = api.NewPeerConnection(pcConfig); err != nil {
		conn.CloseNow()
		return nil, err
	}
	if c.Sub, err = api.NewPeerConnection(pcConfig); err != nil {
		c.Pub.Close()
		conn.CloseNow()
		return nil, err
	}
	c.Sub.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		select {
		case c.tracks <- &RemoteTrack{Peer: PeerOfStream(t.StreamID()), Screen: IsScreen(t.StreamID()), Track: t, Receiver: r}:
		case <-c.ctx.Done():
		}
	})
	go c.readLoop()
	return c, nil
}

func (c *Client) readWelcome(ctx context.Context) error {
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &c.Welcome); err != nil {
		return err
	}
	switch c.Welcome.Type {
	case TypeWelcome:
		return nil
	case TypeBye:
		if c.Welcome.Reason == ByeRefused || c.Welcome.Reason == ByeMoved {
			return &ErrRefused{Code: c.Welcome.Code, Msg: c.Welcome.Message}
		}
		return fmt.Errorf("the server said bye (%s): %s", c.Welcome.Reason, c.Welcome.Message)
	}
	return fmt.Errorf("expected a welcome, got %q", c.Welcome.Type)
}

// ID is the client's peer id in the room.
func (c *Client) ID() string { return c.Welcome.Peer.ID }

// Events delivers what the server says besides negotiation: peers joining
// and leaving, room changes, errors, and the final bye.
func (c *Client) Events() <-chan *Message { return c.events }

// Tracks delivers each track the client starts receiving.
func (c *Client) Tracks() <-chan *RemoteTrack { return c.tracks }

// Done is closed when the signalling connection has ended.
func (c *Client) Done() <-chan struct{} { return c.ctx.Done() }

// Bye is the server's goodbye, once Done; nil when there was none.
func (c *Client) Bye() *Message {
	c.byeMu.Lock()
	defer c.byeMu.Unlock()
	return c.bye
}

// Send sends one message.
func (c *Client) Send(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.SendRaw(b)
}

// SendRaw sends bytes as one text message, as they are: for tests of what
// the server does with bad input.
func (c *Client) SendRaw(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.conn.Write(c.ctx, websocket.MessageText, b)
}

// Kick asks the server to remove a peer (admins only).
func (c *Client) Kick(peer string) error { return c.Send(Message{Type: TypeKick, Target: peer}) }

// KickAndBan removes a peer and keeps them out (admins only): by the
// identity the gateway vouched for, in this room or everywhere, for a time
// or for ever.
func (c *Client) KickAndBan(peer string, b Ban) error {
	return c.Send(Message{Type: TypeKick, Target: peer, Ban: &b})
}

// Lock locks or unlocks the room (admins only).
func (c *Client) Lock(locked bool) error { return c.Send(Message{Type: TypeLock, Locked: &locked}) }

// End ends the meeting for everyone (admins only).
func (c *Client) End() error { return c.Send(Message{Type: TypeEnd}) }

// Admit lets a peer waiting in the lobby in (admins only).
func (c *Client) Admit(peer string) error { return c.Send(Message{Type: TypeAdmit, Target: peer}) }

// Deny turns a peer waiting in the lobby away (admins only).
func (c *Client) Deny(peer string) error { return c.Send(Message{Type: TypeDeny, Target: peer}) }

// InLobby says whether the client is waiting to be let in: it can send
// and receive nothing until an admin decides.
func (c *Client) InLobby() bool {
	return c.Welcome.Peer != nil && c.Welcome.Peer.Role == string(accesstoken.PeerLobby)
}

// ErrDenied is what WaitAdmission returns when an admin turned the client away.
var ErrDenied = errors.New("an admin turned the request to join down")

// WaitAdmission waits, in the lobby, for an admin's decision. When the
// client is let in it returns the pass, a peer token for the room that the
// caller dials again with; the lobby connection is over either way. Other
// events that arrive meanwhile are dropped.
func (c *Client) WaitAdmission(ctx context.Context) (string, error) {
	decision := func(m *Message) (string, error) {
		switch {
		case m == nil:
			return "", errors.New("the lobby connection ended without a decision")
		case m.Reason == ByeAdmitted:
			return m.Token, nil
		case m.Reason == ByeDenied:
			return "", ErrDenied
		}
		return "", fmt.Errorf("the server said bye (%s): %s", m.Reason, m.Message)
	}
	for {
		select {
		case m := <-c.events:
			if m.Type == TypeBye {
				return decision(m)
			}
		case <-c.ctx.Done():
			return decision(c.Bye())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func (c *Client) readLoop() {
	defer c.cancel()
	for {
		_, b, err := c.conn.Read(c.ctx)
		if err != nil {
			return
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			continue
		}
		switch {
		case m.Type == TypeOffer && m.PC == PCSubscribe:
			if err := c.answerSubscribe(m.SDP); err != nil {
				c.deliver(&Message{Type: TypeError, Code: "client", Message: err.Error()})
			}
		case m.Type == TypeAnswer && m.PC == PCPublish:
			select {
			case c.answers <- &m:
			default:
			}
		case m.Type == TypeBye:
			c.byeMu.Lock()
			c.bye = &m
			c.byeMu.Unlock()
			c.deliver(&m)
		default:
			c.deliver(&m)
		}
	}
}

// deliver hands an event over, dropping it when nobody has read the last 256.
func (c *Client) deliver(m *Message) {
	select {
	case c.events <- m:
	default:
	}
}

// Close leaves the room.
func (c *Client) Close() error {
	c.cancel()
	c.Pub.Close()
	c.Sub.Close()
	return c.conn.Close(websocket.StatusNormalClosure, "leaving")
}
