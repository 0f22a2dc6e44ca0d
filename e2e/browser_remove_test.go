package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Remove asks once, and offers to keep the person out (issue 26): Cancel
// keeps them; "Remove and keep out" removes them, and the same person
// (a guest: their address) opening the link again is refused, said why.
func TestBrowserRemoveAsksOnceAndCanKeepOut(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	owner := s.person(t, "127.0.0.1")
	adminB, guestB := newBrowser(t), newBrowser(t)
	tok := owner.mintToken(`{"roomName":"retro","isAdmin":true}`)
	adminB.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=retro&name=Ada&token="+url.QueryEscape(tok))))
	adminB.waitState("joined", 30*time.Second)
	relay := relayFrom(t, "127.0.0.2", s.port)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/retro?name=Kim")))
	guestB.waitState("joined", 30*time.Second)
	kim := fmt.Sprintf(`#participants li[data-peer=%q]`, guestB.selfID())
	adminB.waitJS("Kim in the people list", fmt.Sprintf(`!!document.querySelector('%s .remove')`, kim), 20*time.Second)

	// Remove, then Cancel: Kim stays.
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(kim+" .remove")))
	if text, _ := eval[string](adminB, 5*time.Second, fmt.Sprintf(`document.querySelector('%s .ask')?.textContent || ''`, kim)); !strings.Contains(text, "Remove Kim?") {
		t.Fatalf("the admin is asked %q", text)
	}
	adminB.screenshot("remove-asks")
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(kim+" .remove-cancel")))
	guestB.staysIn("joined", time.Second)
	adminB.waitJS("Remove offered again", fmt.Sprintf(`!!document.querySelector('%s .remove') && !document.querySelector('%s .ask')`, kim, kim), 10*time.Second)

	// Remove and keep out: Kim is removed, and comes back to a refusal.
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(kim+" .remove")))
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(kim+" .remove-ban")))
	guestB.waitState("ejected", 20*time.Second)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/retro?name=Kim")))
	guestB.waitState("denied", 30*time.Second)
	if text, _ := eval[string](guestB, 5*time.Second, `document.getElementById('gate-text').textContent`); !strings.Contains(text, "may not join") {
		t.Fatalf("the guest kept out reads %q", text)
	}
	guestB.screenshot("kept-out")
}
