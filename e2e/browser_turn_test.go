package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserForcedToRelayStillDecodes(t *testing.T) {
	t.Parallel()
	s, _ := newTURNSite(t, "", "")
	a, b := newBrowser(t), newBrowser(t)
	a.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	a.waitState("joined", 30*time.Second)
	// Ben's browser may use nothing but the TURN relay.
	relay := relayFrom(t, "127.0.0.2", s.port)
	b.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Ben&relay=1")))
	b.waitState("joined", 30*time.Second)
	aID, bID := a.selfID(), b.selfID()
	b.decodesVideoFrom(aID, 45*time.Second)
	a.decodesVideoFrom(bID, 45*time.Second)
	typ, err := eval[string](b, 10*time.Second, `(async () => {
		const stats = await window.roomgate.signal.sub.getStats();
		for (const s of stats.values()) {
			if (s.type === 'transport' && s.selectedCandidatePairId) {
				const pair = stats.get(s.selectedCandidatePairId);
				return stats.get(pair.localCandidateId).candidateType;
			}
		}
		return 'none';
	})()`)
	if err != nil || typ != "relay" {
		t.Fatalf("the relayed browser receives over a %q candidate (%v)", typ, err)
	}
}
