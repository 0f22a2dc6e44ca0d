package signal

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Reconnect backoff: the n-th attempt waits a random time up to
// min(backoffMax, backoffBase·2ⁿ), so that a room whose node died does not
// come back as one burst.
const (
	backoffBase = 250 * time.Millisecond
	backoffMax  = 4 * time.Second
	// DefaultGiveUp is how long a Session tries to come back before it
	// gives up.
	DefaultGiveUp = 2 * time.Minute
)

// Session is a Client that comes back. When its signalling connection ends
// without a final word (the media node died, the room moved, the network
// dropped), it dials again, through each of its URLs in turn, with jittered
// backoff, the same credentials and the rejoin pass the server gave it,
// and publishes again what it published. It does not come back after a
// final bye (kicked, ended, ejected, denied, refused) nor after a refusal
// at the door (a revoked token, an ended login).
type Session struct {
	urls   []string
	opts   DialOptions
	giveUp time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	tracks chan *RemoteTrack
	events chan *Message
	done   chan struct{}

	mu        sync.Mutex
	cur       *Client
	via       int    // the index in urls of cur's URL
	pass      string // the latest rejoin pass
	published []publication
	joins     int
	final     *Message // the bye that ended the session, if one did
	err       error    // why the session ended otherwise
	changed   chan struct{}
}

type publication struct {
	tracks []webrtc.TrackLocal
	screen bool
}

// SessionOptions shape a Session beyond DialOptions.
type SessionOptions struct {
	DialOptions
	// GiveUp is how long to keep trying to come back; default DefaultGiveUp.
	GiveUp time.Duration
}

// Connect joins through the first of urls that lets it in and keeps the
// session going until Close or a final word.
func Connect(ctx context.Context, urls []string, o SessionOptions) (*Session, error) {
	if len(urls) == 0 {
		return nil, errors.New("no URL to connect to")
	}
	s := &Session{urls: urls, opts: o.DialOptions, giveUp: o.GiveUp,
		tracks: make(chan *RemoteTrack, 64), events: make(chan *Message, 256),
		done: make(chan struct{}), changed: make(chan struct{})}
	if s.giveUp == 0 {
		s.giveUp = DefaultGiveUp
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	c, err := s.dial(ctx, 0)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.attach(c)
	go s.run()
	return s, nil
}

func (s *Session) dial(ctx context.Context, i int) (*Client, error) {
	o := s.opts
	s.mu.Lock()
	o.Rejoin = s.pass
	s.mu.Unlock()
	return Dial(ctx, s.urls[i%len(s.urls)], o)
}

// attach makes c the session's connection and forwards what it receives.
func (s *Session) attach(c *Client) {
	s.mu.Lock()
	s.cur = c
	s.joins++
	if c.Welcome.Token != "" {
		s.pass = c.Welcome.Token
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	go func() {
		for {
			select {
			case t := <-c.Tracks():
				select {
				case s.tracks <- t:
				case <-s.ctx.Done():
					return
				}
			case <-c.Done():
				return
			}
		}
	}()
}

// run watches the connection and brings it back until a final word.
func (s *Session) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		c := s.cur
		s.mu.Unlock()
		final := s.follow(c)
		if final != nil || s.ctx.Err() != nil {
			s.mu.Lock()
			s.final = final
			s.mu.Unlock()
			s.cancel()
			return
		}
		// What the lost connection left open (its peer connections, whose
		// tracks would go on being written towards a node that may be
		// gone) closes; its counts stay readable.
		c.Close()
		// A connection that ended without a bye went down with the
		// gateway it came through, or the network to it: the next URL
		// first, as a load balancer that noticed would. After a bye
		// (the room moved, the node is going), the gateway is fine.
		s.mu.Lock()
		start := s.via
		s.mu.Unlock()
		if c.Bye() == nil {
			start++
		}
		next, err := s.comeBack(start)
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			s.cancel()
			return
		}
		s.attach(next)
	}
}

// follow relays c's events until it ends; it returns the bye that ends the
// session, or nil when the session should come back.
func (s *Session) follow(c *Client) *Message {
	for {
		select {
		case m := <-c.Events():
			switch m.Type {
			case TypePass:
				s.mu.Lock()
				s.pass = m.Token
				s.mu.Unlock()
				continue
			case TypeBye:
				if !comesBackAfter(m.Reason) {
					s.deliver(m)
					return m
				}
				continue
			}
			s.deliver(m)
		case <-c.Done():
			// Events sent just before the end are still in the channel.
			for {
				select {
				case m := <-c.Events():
					if m.Type == TypeBye && !comesBackAfter(m.Reason) {
						s.deliver(m)
						return m
					}
					if m.Type != TypeBye && m.Type != TypePass {
						s.deliver(m)
					}
				default:
					return nil
				}
			}
		case <-s.ctx.Done():
			return nil
		}
	}
}

// comesBackAfter says whether a bye leaves the way open: the room moved,
// the server is going away, or the connection broke.
func comesBackAfter(reason string) bool {
	switch reason {
	case ByeMoved, ByeClosing, ByeError:
		return true
	}
	return false
}

// comeBack dials until a connection is back, a refusal says it never will
// be, or the time to give up has come: through each URL in turn from
// urls[start], the backoff growing once every URL has been tried.
func (s *Session) comeBack(start int) (*Client, error) {
	deadline := time.Now().Add(s.giveUp)
	var last error
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		wait := min(backoffMax, backoffBase<<min(attempt/len(s.urls), 10))
		t := time.NewTimer(rand.N(wait) + time.Millisecond)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return nil, s.ctx.Err()
		}
		ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
		c, err := s.dial(ctx, start+attempt)
		if err == nil {
			err = s.republish(ctx, c)
			if err != nil {
				c.Close()
			}
		}
		cancel()
		if err == nil {
			s.mu.Lock()
			s.via = (start + attempt) % len(s.urls)
			s.mu.Unlock()
			return c, nil
		}
		if final(err) {
			return nil, err
		}
		last = err
	}
	return nil, errors.Join(errors.New("gave up coming back"), last)
}

// final says whether a failed dial means the door is shut for good.
func final(err error) bool {
	var r *ErrRefused
	if !errors.As(err, &r) {
		return false // the network, a node going away: try again
	}
	switch {
	case r.Status == 0:
		// Refused in the protocol: locked, full, ended… A node that is
		// closing or a room that moved is worth another try.
		return r.Code != "closing" && r.Code != "moved"
	case r.Status == http.StatusTooManyRequests, r.Status >= 500:
		return false
	}
	return true
}

func (s *Session) republish(ctx context.Context, c *Client) error {
	s.mu.Lock()
	pubs := append([]publication(nil), s.published...)
	s.mu.Unlock()
	for _, p := range pubs {
		if _, err := c.publish(ctx, p.screen, p.tracks); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) deliver(m *Message) {
	select {
	case s.events <- m:
	default:
	}
}

// Publish sends tracks now and again after every reconnection.
func (s *Session) Publish(ctx context.Context, tracks ...webrtc.TrackLocal) error {
	return s.publish(ctx, false, tracks)
}

// PublishScreen is Publish for a screen share.
func (s *Session) PublishScreen(ctx context.Context, tracks ...webrtc.TrackLocal) error {
	return s.publish(ctx, true, tracks)
}

func (s *Session) publish(ctx context.Context, screen bool, tracks []webrtc.TrackLocal) error {
	s.mu.Lock()
	s.published = append(s.published, publication{tracks: tracks, screen: screen})
	c := s.cur
	s.mu.Unlock()
	_, err := c.publish(ctx, screen, tracks)
	return err
}

// Client is the connection the session is on now.
func (s *Session) Client() *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Joins counts the connections the session has made: 1 before any
// reconnection.
func (s *Session) Joins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.joins
}

// Rejoined is closed when the session next comes back on a new connection.
func (s *Session) Rejoined() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Tracks delivers each track received, on every connection.
func (s *Session) Tracks() <-chan *RemoteTrack { return s.tracks }

// Events delivers the server's news, on every connection, and the final
// bye; renewals of the rejoin pass and byes it comes back after are kept
// to itself.
func (s *Session) Events() <-chan *Message { return s.events }

// Done is closed when the session is over for good.
func (s *Session) Done() <-chan struct{} { return s.done }

// Final is the bye that ended the session, once Done; nil if none did.
func (s *Session) Final() *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final
}

// Err says why the session ended without a final bye: it gave up, or a
// refusal said it never would come back.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close leaves the room.
func (s *Session) Close() error {
	s.cancel()
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	err := c.Close()
	<-s.done
	return err
}
