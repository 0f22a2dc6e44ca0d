package e2e

import (
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowsersLogInMeetAndSeeEachOther(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "host_protected")
	hostB, guestB := newBrowser(t), newBrowser(t)

	hostB.do(30*time.Second,
		chromedp.Navigate(siteURL(s.port, "/login?next="+url.QueryEscape("/join/standup?name=Alice"))),
		chromedp.WaitVisible(chromedp.CSS("#username")),
	)
	hostB.screenshot("login")
	hostB.do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
	)
	hostB.waitState("joined", 30*time.Second)
	hostID := hostB.selfID()

	// The guest comes from another address, through the link the host copies.
	relay := relayFrom(t, "127.0.0.2", s.port)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Gwen")))
	guestB.waitState("joined", 30*time.Second)
	guestID := guestB.selfID()

	hostB.decodesVideoFrom(guestID, 45*time.Second)
	guestB.decodesVideoFrom(hostID, 45*time.Second)
	for _, b := range []*browser{hostB, guestB} {
		n, err := eval[float64](b, 10*time.Second, `(async () => {
			while (document.querySelectorAll('#participants li').length < 2) await new Promise((r) => setTimeout(r, 100));
			return document.querySelectorAll('#participants li').length;
		})()`)
		if err != nil || n != 2 {
			t.Fatalf("participant list has %v entries (%v)", n, err)
		}
	}
	hostB.screenshot("room-host")
	guestB.screenshot("room-guest")
}
