package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/internal/testidp"
)

// pressIDPLogin opens the login page (going on to next), presses "Log in
// with Acme SSO" and signs in on the provider's own form.
func (b *browser) pressIDPLogin(port int, next, user, pass string) {
	b.t.Helper()
	b.do(30*time.Second,
		chromedp.Navigate(siteURL(port, "/login?next="+url.QueryEscape(skipPrejoin(next)))),
		chromedp.WaitVisible(chromedp.ID("idp-login")),
	)
	if label, _ := eval[string](b, 5*time.Second, `document.getElementById('idp-login').textContent`); label != "Log in with Acme SSO" {
		b.t.Fatalf("the button says %q", label)
	}
	if b.visible("password") {
		b.t.Error("the password form shows although no user line is configured")
	}
	b.signInAtProvider("idp-login", user, pass)
}

// signInAtProvider presses the button with id and fills in the
// provider's own login form.
func (b *browser) signInAtProvider(button, user, pass string) {
	b.t.Helper()
	b.do(30*time.Second,
		chromedp.Click(chromedp.ID(button)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login/username"] #username`)),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), pass),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
	)
}

// carolHostsThroughTheProvider starts a provider and a host_protected site
// that logs hosts in with it, and Carol, in a browser, logging in through
// the provider's own form to host standup.
func carolHostsThroughTheProvider(t *testing.T) (*testidp.Provider, *idpSite, *browser) {
	t.Helper()
	idp := testidp.Start(t, 0, idpUsers...)
	s := newIDPSite(t, idp, idp.Issuer, "host_protected")
	newIDPClient(t, s.port, "127.0.0.1").waitDiscovered(30 * time.Second)

	host := newBrowser(t)
	host.pressIDPLogin(s.port, "/join/standup?name=Carol", "carol", "carol-Pa55")
	host.waitState("joined", 45*time.Second)
	return idp, s, host
}

// A host logs in through the provider's own login form and starts a call;
// a guest joins and is seen; another tab of the browser is the host too.
// Someone the rule does not allow is told why on the page.
func TestBrowserHostLogsInWithTheIdentityProvider(t *testing.T) {
	t.Parallel()
	_, s, host := carolHostsThroughTheProvider(t)
	if !host.offersEndForAll() {
		t.Fatal("carol is in the room, but not as its host (no End for all)")
	}
	if tok, _ := eval[string](host, 5*time.Second, `sessionStorage.getItem('peer_token') || ''`); tok != "" {
		t.Error("the host token stays in the tab although the cookie carries the login")
	}
	if strings.Contains(strings.Join(host.history(), " "), "peer_token") {
		t.Error("the host token is in the tab's history")
	}

	// A guest, with no login, in a browser of their own.
	guest := newBrowser(t)
	guest.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Gus")))
	guest.waitState("joined", 45*time.Second)
	host.decodesVideoFrom(guest.selfID(), 45*time.Second)

	second := host.newTab()
	second.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/retro?name=Carol")))
	second.waitState("joined", 45*time.Second)
	if !second.offersEndForAll() {
		t.Error("the second tab is in the room, but not as its host")
	}
	if who := second.text("whoami"); who != "Logged in as carol" {
		t.Errorf("the second tab says %q", who)
	}
	host.screenshot("oidc-host")

	// The guest's browser now opens a room nobody hosts and tries to log
	// in there as its host, as someone outside the hosts' group and domain.
	outsider := guest
	outsider.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/board?name=Mal")))
	outsider.waitState("waiting-for-host", 30*time.Second)
	outsider.do(10*time.Second, chromedp.Click(chromedp.ID("host-login")))
	outsider.waitState("login", 10*time.Second)
	if outsider.visible("credentials") || !outsider.visible("gate-idp") {
		t.Fatal("the room's login offers the password form, or not the provider, with no user lines")
	}
	outsider.signInAtProvider("gate-idp", "mallory", "mallory-Pa55")
	outsider.waitState("login", 30*time.Second)
	var said string
	if !eventually(20*time.Second, func() bool {
		said, _ = eval[string](outsider, 5*time.Second, `(document.querySelector('[data-error="not_allowed"]') || {}).textContent || ''`)
		return said != ""
	}) {
		t.Fatalf("the refused person is not told why; the page says %q", outsider.text("error"))
	}
	if !strings.Contains(said, "may not host meetings here") || !outsider.visible("idp-login") {
		t.Errorf("the refusal says %q", said)
	}
	outsider.audit("the login page saying why, with the provider's button")
	outsider.screenshot("oidc-not-allowed")
}
