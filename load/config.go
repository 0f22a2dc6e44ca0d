package load

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Scenarios.
const (
	Fanout  = "fanout"  // one publisher, Peers subscribers
	Meeting = "meeting" // Peers participants, each publishing and receiving
	Churn   = "churn"   // one publisher; subscribers join at Rate and stay for Stay
)

// Config is one load run.
type Config struct {
	// Site is the gateway's address, such as http://localhost:8080.
	Site string
	// Sites, when set, are several gateways of one cluster (Site is then
	// ignored): people are given to them in turn, and each comes back
	// through the next one when it loses its room.
	Sites []string
	// SignalPath is the signalling path on it. Default: /ws.
	SignalPath string
	// Scenario is Fanout, Meeting or Churn.
	Scenario string
	// Room is the room used. Default: load.
	Room string
	// Rooms is how many rooms the scenario runs in at once, each with
	// Peers people: Room-1 … Room-N. Default 1: the room is Room itself.
	Rooms int
	// RoomEvery spaces the rooms' starts, as rooms arriving one after
	// another do, so that a cluster's gateways see each node's load when
	// they place the next room. Default 0: all at once.
	RoomEvery time.Duration
	// Peers is the number of subscribers (fanout, and churn's at once at
	// most) or participants (meeting).
	Peers int
	// Duration is how long the measurement lasts, after everyone joined.
	Duration time.Duration
	// VideoPPS and AudioPPS are each publisher's packet rates; VideoBytes
	// and AudioBytes their payload sizes. Zero rates publish tracks that
	// carry nothing.
	VideoPPS, AudioPPS     int
	VideoBytes, AudioBytes int
	// Simulcast publishes video in three layers, as the browser client
	// does: the top one at VideoPPS, each one below at a third of the rate
	// above it. Subscribers say nothing of their tiles, so each gets the
	// top layer its link carries.
	Simulcast bool
	// Rate (joins per second) and Stay are churn's.
	Rate float64
	Stay time.Duration
	// Tokens: with Secret, room tokens are minted from the master secret;
	// with APIKey, through the REST API; with neither, people come without.
	Secret, APIKey string
	// ServerPID, when set, is the server process whose CPU time is measured
	// (Linux /proc).
	ServerPID int
	// JoinTimeout bounds one join. Default: 20s.
	JoinTimeout time.Duration
	// FailoverTimeout is how long someone who lost their room (its node
	// died, or it moved) may take to have media flowing again both ways
	// before they count as never back. Default: 30s.
	FailoverTimeout time.Duration
	// OnMeasure, if set, is called when the measurement window opens
	// (everyone joined, media warmed up): the moment to kill a node. It
	// must return quickly.
	OnMeasure func()
}

// sites is the gateways people are given to in turn.
func (c *Config) sites() []string {
	if len(c.Sites) > 0 {
		return c.Sites
	}
	return []string{c.Site}
}

// roomName is the i-th room's name (from 0).
func (c *Config) roomName(i int) string {
	if c.Rooms <= 1 {
		return c.Room
	}
	return fmt.Sprintf("%s-%d", c.Room, i+1)
}

func (c *Config) fillDefaults() {
	if c.SignalPath == "" {
		c.SignalPath = "/ws"
	}
	if c.Room == "" {
		c.Room = "load"
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.VideoBytes == 0 {
		c.VideoBytes = 1000
	}
	if c.AudioBytes == 0 {
		c.AudioBytes = 160
	}
	if c.Stay == 0 {
		c.Stay = 2 * time.Second
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = 20 * time.Second
	}
	if c.Rooms == 0 {
		c.Rooms = 1
	}
	if c.FailoverTimeout == 0 {
		c.FailoverTimeout = 30 * time.Second
	}
}

func (c *Config) validate() error {
	for _, s := range c.sites() {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("site %q is not an http(s) address", s)
		}
	}
	if len(c.sites()) > 100 {
		return errors.New("at most 100 gateways")
	}
	switch c.Scenario {
	case Fanout, Meeting, Churn:
	default:
		return fmt.Errorf("scenario %q: fanout, meeting or churn", c.Scenario)
	}
	if c.Peers < 1 || c.Peers > 10000 {
		return errors.New("peers must be 1 to 10000")
	}
	if c.Rooms < 1 || c.Rooms*c.Peers > 10000 {
		return errors.New("rooms must be at least 1, with at most 10000 peers in all")
	}
	if c.Scenario == Churn && c.Rooms > 1 {
		return errors.New("churn runs in one room")
	}
	if c.RoomEvery < 0 || c.FailoverTimeout < 0 {
		return errors.New("room-every and the failover timeout cannot be negative")
	}
	if c.Scenario == Meeting && c.Peers < 2 {
		return errors.New("a meeting needs at least 2 peers")
	}
	if c.Scenario == Churn && (c.Rate <= 0 || c.Rate > 1000) {
		return errors.New("churn needs a rate of 0 to 1000 joins a second")
	}
	if c.VideoPPS < 0 || c.AudioPPS < 0 || c.VideoPPS > 10000 || c.AudioPPS > 10000 {
		return errors.New("packet rates must be 0 to 10000 a second")
	}
	if c.VideoBytes > 1200 || c.AudioBytes > 1200 || c.VideoBytes < 1 || c.AudioBytes < 1 {
		return errors.New("payloads must be 1 to 1200 bytes")
	}
	return nil
}
