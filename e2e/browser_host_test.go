package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/accesstoken"
)

// A host sees who she is logged in as, ends the meeting only when she
// presses "End for all" a second time, and logs out: the page says so, the
// cookie leaves the browser, and the credential no longer opens the door.
func TestBrowserHostEndsWithAConfirmationAndLogsOut(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	hostB, guestB := newBrowser(t), newBrowser(t)
	hostB.openLogin(s.port, "/join/standup?name=Alice")
	hostB.submitLogin()
	hostB.waitState("joined", 30*time.Second)
	who, _ := eval[string](hostB, 5*time.Second, `document.getElementById('whoami').hidden ? '' : document.getElementById('whoami').textContent`)
	if who != "Logged in as alice" {
		t.Fatalf("the host's page says %q", who)
	}
	relay := relayFrom(t, "127.0.0.2", s.port)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Gwen")))
	guestB.waitState("joined", 30*time.Second)
	if shown, _ := eval[bool](guestB, 5*time.Second, `!document.getElementById('logout').hidden`); shown {
		t.Fatal("a guest's page offers to log out")
	}

	// One press arms "End for all" (in the host's menu, More); nobody leaves.
	hostB.do(10*time.Second, chromedp.Click(chromedp.CSS("#more")), chromedp.Click(chromedp.CSS("#end")))
	time.Sleep(1500 * time.Millisecond)
	if st := guestB.state(); st != "joined" {
		t.Fatalf("one press of End for all sent the guest to %q", st)
	}
	label, _ := eval[string](hostB, 5*time.Second, `document.getElementById('end').textContent`)
	if !strings.Contains(label, "again") {
		t.Fatalf("the armed button reads %q", label)
	}
	hostB.screenshot("end-armed")
	// The second press ends the meeting for everyone.
	hostB.do(10*time.Second, chromedp.Click(chromedp.CSS("#end")))
	guestB.waitState("ended", 20*time.Second)
	guestB.staysIn("ended", 3*time.Second)

	// The login is in the browser's host cookie, out of every script's reach.
	if inTab, _ := eval[string](hostB, 5*time.Second, `sessionStorage.getItem('peer_token') || ''`); inTab != "" {
		t.Fatal("the host token stays in the tab's storage")
	}
	tok := hostB.hostCookie(s.port)
	if tok == "" {
		t.Fatal("the browser holds no host cookie")
	}
	hostB.do(10*time.Second, chromedp.Click(chromedp.CSS("#logout")))
	hostB.waitState("ended", 10*time.Second)
	title, _ := eval[string](hostB, 5*time.Second, `document.getElementById('gate-title').textContent`)
	left, _ := eval[string](hostB, 5*time.Second, `(async () => {
		while (!document.getElementById('whoami').hidden) await new Promise((r) => setTimeout(r, 100));
		return 'hidden';
	})()`)
	if title != "You logged out" || left != "hidden" {
		t.Fatalf("after logging out the page reads %q, the name is %s", title, left)
	}
	if hostB.hostCookie(s.port) != "" {
		t.Fatal("the host cookie outlived the logout")
	}
	// The credential is dead: from the address it logged in from, it opens
	// no room.
	s.person(t, "127.0.0.1").refusedSignal("retro", signalOpts{token: tok}, 401)
}

// An admin mutes a guest from the participant list: the guest's page turns
// its microphone off and says who did it; the admin's list shows the guest
// muted, with no Mute button any more.
func TestBrowserAdminMutesAGuest(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	adminB, guestB := newBrowser(t), newBrowser(t)
	tok := mintPeer(t, accesstoken.Claims{Room: "mute", Admin: true})
	adminB.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=mute&name=Ada&token="+url.QueryEscape(tok))))
	adminB.waitState("joined", 30*time.Second)
	relay := relayFrom(t, "127.0.0.2", s.port)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/mute?name=Gus")))
	guestB.waitState("joined", 30*time.Second)
	guestID := guestB.selfID()

	muteButton := fmt.Sprintf(`#participants li[data-peer=%q] .mute`, guestID)
	adminB.do(15*time.Second, chromedp.WaitVisible(chromedp.CSS(muteButton)), chromedp.Click(chromedp.CSS(muteButton)))
	got, err := eval[string](guestB, 15*time.Second, `(async () => {
		while (document.getElementById('mute').getAttribute('aria-pressed') !== 'true') await new Promise((r) => setTimeout(r, 100));
		return document.getElementById('notices').textContent;
	})()`)
	if err != nil || !strings.Contains(got, "Ada muted your microphone") {
		t.Fatalf("the guest's page: microphone still on, or notices %q (%v)", got, err)
	}
	gone, err := eval[bool](adminB, 15*time.Second, fmt.Sprintf(`(async () => {
		while (document.querySelector(%q)) await new Promise((r) => setTimeout(r, 100));
		return true;
	})()`, muteButton))
	if err != nil || !gone {
		t.Fatalf("the admin's list still offers to mute the muted guest (%v)", err)
	}
}
