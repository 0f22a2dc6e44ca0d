package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/accesstoken"
)

func TestBrowserGuestWaitsForTheHostAndIsShutOutAfterLogout(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "host_protected\n\t\thost_grace 1s")
	guestB, hostB, lateB := newBrowser(t), newBrowser(t), newBrowser(t)
	relay := relayFrom(t, "127.0.0.2", s.port)

	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Gwen")))
	guestB.waitState("waiting-for-host", 20*time.Second)
	guestB.screenshot("waiting-for-host")

	hostB.do(30*time.Second,
		chromedp.Navigate(siteURL(s.port, "/join?"+url.Values{"room": {"standup"}, "name": {"Alice"},
			"username": {"alice"}, "password": {password}}.Encode())))
	hostB.waitState("joined", 30*time.Second)
	// The guest who waited is not let in wholesale: they knock, and the
	// host lets them in from the lobby.
	guestB.waitState("lobby", 30*time.Second)
	entry := waitLobbyEntry(t, hostB, "Gwen")
	hostB.do(10*time.Second, chromedp.Click(chromedp.CSS(entry+" .admit")))
	guestB.waitState("joined", 30*time.Second)

	// The host logs out: a new guest cannot enter.
	if _, err := eval[bool](hostB, 10*time.Second, `fetch('/logout', {method: 'POST',
		headers: {Authorization: 'Bearer ' + sessionStorage.getItem('peer_token')}}).then((r) => r.status === 204)`); err != nil {
		t.Fatal(err)
	}
	lateRelay := relayFrom(t, "127.0.0.3", s.port)
	lateB.do(30*time.Second, chromedp.Navigate(siteURL(lateRelay, "/join/standup?name=Late")))
	lateB.waitState("waiting-for-host", 20*time.Second)
}

func TestBrowserJoinLinksLeaveNoCredentialBehind(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "user_auth")
	b := newBrowser(t)
	tok := mintPeer(t, accesstoken.Claims{Room: "standup", Name: "Tia"})
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=standup&name=Tia&token="+tok)))
	b.waitState("joined", 30*time.Second)
	assertNoSecret(t, b, tok)

	// Username and password in the link log the host in; neither stays anywhere.
	b2 := newBrowser(t)
	b2.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?"+url.Values{"room": {"standup"},
		"username": {"alice"}, "password": {password}}.Encode())))
	b2.waitState("joined", 30*time.Second)
	assertNoSecret(t, b2, password)
	stored, err := eval[string](b2, 5*time.Second, `sessionStorage.getItem('peer_token') || ''`)
	if err != nil || stored == "" {
		t.Fatalf("no token in sessionStorage (%v)", err)
	}
	assertNoSecret(t, b2, stored)
}

// assertNoSecret checks the address bar and every history entry.
func assertNoSecret(t *testing.T, b *browser, secret string) {
	t.Helper()
	href, err := eval[string](b, 5*time.Second, `location.href`)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range append(b.history(), href) {
		if strings.Contains(u, secret) || strings.Contains(u, "token=") || strings.Contains(u, "password=") {
			t.Fatalf("a credential stays in %s", u)
		}
	}
}

func TestBrowserRefusedPersonSeesWhy(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "user_auth")
	b := newBrowser(t)
	// A token for another room.
	tok := mintPeer(t, accesstoken.Claims{Room: "retro"})
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=standup&token="+tok)))
	b.waitState("denied", 20*time.Second)
	text, err := eval[string](b, 5*time.Second, `document.getElementById('gate-text').textContent`)
	if err != nil || !strings.Contains(text, "another room") {
		t.Fatalf("the refused page says %q (%v)", text, err)
	}
	if visible, _ := eval[bool](b, 5*time.Second, `getComputedStyle(document.getElementById('credentials')).display !== 'none'`); visible {
		t.Fatal("the refused page offers a login form")
	}
	b.screenshot("denied")

	// Nobody without credentials: the page asks for them.
	b2 := newBrowser(t)
	b2.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup")))
	b2.waitState("login", 20*time.Second)
	b2.submitLogin()
	b2.waitState("joined", 30*time.Second)
}

// A dead link must not stay in the tab: the page drops the token, says why,
// and asks for what the room does accept.
func TestBrowserDeadLinkDoesNotPoisonTheTab(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "user_auth")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=standup&name=Tia&token=not.a.token")))
	b.waitState("login", 20*time.Second)
	said, err := eval[string](b, 5*time.Second, `document.getElementById('gate-error').hidden ? '' : document.getElementById('gate-error').textContent`)
	if err != nil || !strings.Contains(said, "no longer works") {
		t.Fatalf("the page says %q (%v)", said, err)
	}
	if stored, _ := eval[string](b, 5*time.Second, `sessionStorage.getItem('peer_token') || ''`); stored != "" {
		t.Fatalf("the dead token stays in the tab: %q", stored)
	}
	b.submitLogin()
	b.waitState("joined", 30*time.Second)
}
