package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// newTab opens another tab of the same browser: same cookies, its own
// sessionStorage.
func (b *browser) newTab() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening a tab: %v", err)
	}
	return &browser{t: b.t, ctx: ctx}
}

// hostCookie is the value of the browser's host cookie for the site at
// port, read through the DevTools protocol (no script can), or "".
func (b *browser) hostCookie(port int) string {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{siteURL(port, "/")}})
	if err != nil {
		b.t.Fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "__Host-roomgate_host" {
			return c.Value
		}
	}
	return ""
}

func (b *browser) text(id string) string {
	s, _ := eval[string](b, 5*time.Second, `document.getElementById('`+id+`').textContent`)
	return s
}

func (b *browser) visible(id string) bool {
	v, _ := eval[bool](b, 5*time.Second, `(() => { const e = document.getElementById('`+id+`'); return !!e && !e.hidden && e.offsetParent !== null; })()`)
	return v
}

// offersEndForAll says whether the page offers a host's End for all: in
// the host's menu (More), which it opens to see.
func (b *browser) offersEndForAll() bool {
	b.t.Helper()
	if !b.visible("more") {
		return false
	}
	b.do(5*time.Second, chromedp.Click(chromedp.ID("more")))
	return b.visible("end")
}

// A host who logged in in one tab is the host in the next, and logging
// out in one ends the call in the other.
func TestBrowserHostLoggedInInOneTabIsHostInAnother(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "host_protected")
	first := newBrowser(t)
	first.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/login?next=/")), chromedp.WaitVisible(chromedp.CSS("#username")))
	first.submitLogin()
	first.waitState("home", 20*time.Second)
	if tok, _ := eval[string](first, 5*time.Second, `sessionStorage.getItem('peer_token') || ''`); tok != "" {
		t.Error("the host token stays in the tab although the cookie carries the login")
	}

	second := first.newTab()
	second.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Alice")))
	second.waitState("joined", 30*time.Second)
	if !second.offersEndForAll() {
		t.Error("the second tab is in the room, but not as its host (no End for all)")
	}
	if who := second.text("whoami"); who != "Logged in as alice" {
		t.Errorf("the second tab says %q", who)
	}
	second.recordStates()

	// Log out from the first tab: the second tab's call ends and says why.
	first.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/retro?name=Alice")))
	first.waitState("joined", 30*time.Second)
	first.do(10*time.Second, chromedp.Click(chromedp.ID("logout")))
	first.waitState("ended", 10*time.Second)
	second.waitState("login", 15*time.Second)
	if said := second.gateText(); !strings.Contains(said, "login has ended") {
		t.Errorf("the second tab says %q", said)
	}
	for _, st := range second.states() {
		if st == "reconnecting" {
			t.Errorf("the second tab tried to come back: %v", second.states())
		}
	}
	// A new tab now is nobody's host: it waits for one.
	third := first.newTab()
	third.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Alice")))
	third.waitState("waiting-for-host", 20*time.Second)
}

// The host who opens her room in a browser that has not logged in waits for
// herself only until she presses "I am the host: log in".
func TestBrowserWaitingPageLetsTheHostLogIn(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "host_protected")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Alice")))
	b.waitState("waiting-for-host", 20*time.Second)
	if !b.visible("host-login") {
		t.Fatal("the waiting page offers no way to log in as the host")
	}
	b.do(10*time.Second, chromedp.Click(chromedp.ID("host-login")))
	b.waitState("login", 10*time.Second)
	b.submitLogin()
	b.waitState("joined", 30*time.Second)
	if !b.offersEndForAll() {
		t.Error("logged in from the waiting page, but not the room's host")
	}
}
