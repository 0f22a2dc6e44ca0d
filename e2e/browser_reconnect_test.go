package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The server restarts mid-call, once stopped (it says goodbye) and once
// killed (it says nothing): both pages say they are reconnecting, come back
// by themselves, and see each other again.
func TestBrowserComesBackAfterTheServerRestarts(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann, ben := newBrowser(t), newBrowser(t)
	ann.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	ann.waitState("joined", 30*time.Second)
	relay := relayFrom(t, "127.0.0.2", s.port)
	ben.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Ben")))
	ben.waitState("joined", 30*time.Second)
	annID, benID := ann.selfID(), ben.selfID()
	ann.decodesVideoFrom(benID, 45*time.Second)
	ben.decodesVideoFrom(annID, 45*time.Second)

	for _, how := range []struct {
		name    string
		restart func()
	}{
		{"stopped and started", s.Restart},
		{"killed and started", func() { s.Kill(); s.Restart() }},
	} {
		ann.recordStates()
		ben.recordStates()
		began := time.Now()
		how.restart()
		annID, benID = ann.rejoinedAs(annID, 60*time.Second), ben.rejoinedAs(benID, 60*time.Second)
		ann.decodesVideoFrom(benID, 30*time.Second)
		ben.decodesVideoFrom(annID, 30*time.Second)
		t.Logf("%s: both pages decode each other again %v after the restart began", how.name, time.Since(began).Round(10*time.Millisecond))
		for name, b := range map[string]*browser{"Ann": ann, "Ben": ben} {
			if states := b.states(); !slices.Contains(states, "reconnecting") || slices.Contains(states, "error") {
				t.Errorf("%s, %s's page went through %v", how.name, name, states)
			}
		}
		if n, _ := eval[int](ann, 5*time.Second, `document.querySelectorAll('.tile[data-tile]').length`); n != 1 {
			t.Errorf("%s, Ann's page shows %d tiles of others; want Ben's only", how.name, n)
		}
	}
}
