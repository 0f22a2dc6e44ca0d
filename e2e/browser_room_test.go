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

	hostB.openLogin(s.port, "/join/standup?name=Alice")
	hostB.screenshot("login")
	hostB.submitLogin()
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
	// host_protected rooms have no owner (issue 26): the guest is a guest,
	// with nothing to run, and the host is the host.
	for _, b := range []*browser{hostB, guestB} {
		b.waitRole("the host", hostID, "host")
		b.waitRole("the guest", guestID, "guest")
	}
	if c := guestB.adminControls(); c != "" {
		t.Fatalf("a host_protected site's guest is offered %q", c)
	}
	hostB.screenshot("room-host")
	guestB.screenshot("room-guest")
}

// openLogin opens the login page on the site at port, to go on to next.
func (b *browser) openLogin(port int, next string) {
	b.t.Helper()
	b.do(30*time.Second,
		chromedp.Navigate(siteURL(port, "/login?next="+url.QueryEscape(skipPrejoin(next)))),
		chromedp.WaitVisible(chromedp.CSS("#username")),
	)
}

// submitLogin logs in as alice on the open login page.
func (b *browser) submitLogin() {
	b.t.Helper()
	b.do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
	)
}
