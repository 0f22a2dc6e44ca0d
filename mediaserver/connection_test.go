package mediaserver

import (
	"testing"
	"time"
)

func TestConnectionLevelIsJudgedFromLossAndWhatWasHeldBack(t *testing.T) {
	for _, c := range []struct {
		loss            float64
		paused, lowered bool
		want            string
	}{
		{0, false, false, connGood},
		{0.02, false, false, connGood},
		{0.03, false, false, connFair},
		{0, false, true, connFair},
		{0.10, false, false, connPoor},
		{0, true, true, connPoor},
	} {
		if got := judgeConnection(c.loss, c.paused, c.lowered); got != c.want {
			t.Errorf("loss %v paused %v lowered %v: %s; want %s", c.loss, c.paused, c.lowered, got, c.want)
		}
	}
}

// A level reaches the room only once it has held for connHold, and once.
func TestConnectionLevelIsAnnouncedOnceItHolds(t *testing.T) {
	var c connectionLevel
	t0 := time.Unix(0, 0)
	step := func(level string, at time.Duration) string {
		l, ok := c.update(level, t0.Add(at))
		if !ok {
			return "-"
		}
		return l
	}
	for _, s := range []struct {
		level string
		at    time.Duration
		want  string
	}{
		{connGood, 0, "-"},
		{connGood, connHold - time.Millisecond, "-"},
		{connGood, connHold, connGood},
		{connGood, 3 * connHold, "-"}, // said once
		{connPoor, 4 * connHold, "-"},
		{connGood, 4*connHold + time.Second, "-"}, // a dip that did not hold
		{connPoor, 5 * connHold, "-"},
		{connPoor, 6 * connHold, connPoor},
	} {
		if got := step(s.level, s.at); got != s.want {
			t.Fatalf("%s at %v: announced %q; want %q", s.level, s.at, got, s.want)
		}
	}
}
