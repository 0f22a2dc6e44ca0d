package mediaserver

import "time"

// A peer's connection quality, which everyone in the room sees on its tile
// (PeerInfo.Connection): judged each allocation round from what reaches
// the peer, the loss its feedback reports and what the allocation had to
// hold back from it.
const (
	connGood = "good"
	connFair = "fair" // some loss, or videos sent lower than their tiles need
	connPoor = "poor" // heavy loss, or video paused

	fairLoss = 0.03
	poorLoss = 0.10
	// connHold is how long a level must hold before the room hears of it:
	// a moment's dip (a probe, a keyframe burst) is not news.
	connHold = 2 * time.Second
)

// judgeConnection is the level a round's facts say.
func judgeConnection(loss float64, paused, lowered bool) string {
	switch {
	case paused || loss >= poorLoss:
		return connPoor
	case lowered || loss >= fairLoss:
		return connFair
	default:
		return connGood
	}
}

// connectionLevel follows one peer's level.
type connectionLevel struct {
	shown string    // the level the room was told
	seen  string    // the level the last rounds said
	since time.Time // since when they say it
}

// update takes a round's level and reports the one to announce, once it
// has held for connHold.
func (c *connectionLevel) update(level string, now time.Time) (string, bool) {
	if level != c.seen {
		c.seen, c.since = level, now
	}
	if c.seen == c.shown || now.Sub(c.since) < connHold {
		return "", false
	}
	c.shown = c.seen
	return c.shown, true
}
