package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// recordStates keeps every <body data-state> the page passes through.
func (b *browser) recordStates() {
	b.t.Helper()
	if _, err := eval[bool](b, 5*time.Second, `(() => {
		window.__states = [document.body.dataset.state];
		new MutationObserver(() => window.__states.push(document.body.dataset.state))
			.observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
		return true;
	})()`); err != nil {
		b.t.Fatal(err)
	}
}

// staysIn checks that a page which reached a final state (removed, ended)
// stays there: it does not try to come back.
func (b *browser) staysIn(state string, d time.Duration) {
	b.t.Helper()
	b.recordStates()
	time.Sleep(d)
	if s := b.states(); len(s) != 1 || s[0] != state {
		b.t.Errorf("after %q the page went through %v", state, s)
	}
}

func (b *browser) states() []string {
	s, _ := eval[[]string](b, 5*time.Second, `window.__states || []`)
	return s
}

// rejoinedAs waits until the page is in the room again under a peer id
// other than old, and returns it.
func (b *browser) rejoinedAs(old string, d time.Duration) string {
	b.t.Helper()
	id, err := eval[string](b, d, fmt.Sprintf(`(async () => {
		for (;;) {
			const li = [...document.querySelectorAll('#participants li')].find((l) => l.textContent.includes('(you)'));
			if (document.body.dataset.state === 'joined' && li && li.dataset.peer !== %q) return li.dataset.peer;
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`, old))
	if err != nil {
		b.t.Fatalf("not back in the room: %v (state %q, states %v)", err, b.state(), b.states())
	}
	return id
}

func TestClusterBrowsersComeBackAfterTheirNodeDies(t *testing.T) {
	c := newCluster(t, 1, 2, "")
	g := c.gateways[0]
	ann, ben := newBrowser(t), newBrowser(t)
	ann.do(30*time.Second, chromedp.Navigate(siteURL(g.port, "/join/standup?name=Ann")))
	ann.waitState("joined", 30*time.Second)
	relay := relayFrom(t, "127.0.0.2", g.port)
	ben.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Ben")))
	ben.waitState("joined", 30*time.Second)
	annID, benID := ann.selfID(), ben.selfID()
	ann.decodesVideoFrom(benID, 45*time.Second)
	ben.decodesVideoFrom(annID, 45*time.Second)
	ann.recordStates()
	ben.recordStates()

	killed := time.Now()
	c.pinnedNode(t, "standup").Kill()
	annID, benID = ann.rejoinedAs(annID, 30*time.Second), ben.rejoinedAs(benID, 30*time.Second)
	ann.decodesVideoFrom(benID, 30*time.Second)
	ben.decodesVideoFrom(annID, 30*time.Second)
	t.Logf("both pages decode each other again %v after the node's death", time.Since(killed).Round(10*time.Millisecond))
	for name, b := range map[string]*browser{"Ann": ann, "Ben": ben} {
		saw := false
		for _, s := range b.states() {
			saw = saw || s == "reconnecting"
		}
		if !saw {
			t.Errorf("%s's page never said it was reconnecting: %v", name, b.states())
		}
	}
}
