package load

import (
	"context"
	"strings"
	"testing"
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
