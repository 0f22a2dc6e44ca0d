package load

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestBadConfigsAreRefusedBeforeAnyoneJoins(t *testing.T) {
	good := Config{Site: "http://localhost:1", Scenario: Fanout, Peers: 1}
	for name, c := range map[string]func(*Config){
		"no site":            func(c *Config) { c.Site = "" },
		"not http":           func(c *Config) { c.Site = "ftp://x" },
		"unknown scenario":   func(c *Config) { c.Scenario = "party" },
		"no peers":           func(c *Config) { c.Peers = 0 },
		"meeting of one":     func(c *Config) { c.Scenario, c.Peers = Meeting, 1 },
		"churn without rate": func(c *Config) { c.Scenario = Churn },
		"negative rate":      func(c *Config) { c.VideoPPS = -1 },
		"huge payload":       func(c *Config) { c.VideoBytes = 5000 },
		"short secret":       func(c *Config) { c.Secret = "short" },
		"a bad second site":  func(c *Config) { c.Sites = []string{"http://localhost:1", "localhost:2"} },
		"no rooms":           func(c *Config) { c.Rooms = -1 },
		"too many in all":    func(c *Config) { c.Peers, c.Rooms = 5000, 3 },
		"churn in rooms":     func(c *Config) { c.Scenario, c.Rate, c.Rooms = Churn, 1, 2 },
		"negative spacing":   func(c *Config) { c.RoomEvery = -time.Second },
	} {
		cfg := good
		c(&cfg)
		if rep, err := Run(context.Background(), cfg); err == nil || (rep != nil && rep.Joins > 0) {
			t.Errorf("%s: ran (%v)", name, err)
		} else if strings.TrimSpace(err.Error()) == "" {
			t.Errorf("%s: an empty error", name)
		}
	}
}

func TestRoomsAreNamedFromTheRoomAndOneRoomKeepsItsName(t *testing.T) {
	c := Config{Room: "load"}
	c.fillDefaults()
	if got := c.roomName(0); got != "load" {
		t.Fatalf("one room is named %q", got)
	}
	c.Rooms = 3
	if got := []string{c.roomName(0), c.roomName(2)}; got[0] != "load-1" || got[1] != "load-3" {
		t.Fatalf("rooms named %v", got)
	}
	if got := c.sites(); len(got) != 1 || got[0] != "" {
		t.Fatalf("sites without Sites: %v", got)
	}
}
