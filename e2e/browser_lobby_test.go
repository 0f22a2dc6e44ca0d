package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitLobbyEntry waits until the admin page lists name as waiting and
// returns the selector of that entry.
func waitLobbyEntry(t *testing.T, b *browser, name string) string {
	t.Helper()
	id, err := eval[string](b, 20*time.Second, fmt.Sprintf(`(async () => {
		for (;;) {
			const li = [...document.querySelectorAll('#lobby li')].find((l) => l.textContent.includes(%q));
			if (li && !document.getElementById('lobby-panel').hidden) return li.dataset.peer;
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`, name))
	if err != nil {
		t.Fatalf("the admin's page never showed %s waiting: %v", name, err)
	}
	return fmt.Sprintf(`#lobby li[data-peer=%q]`, id)
}

// privateRoomWithAdmin makes a private room that takes requests to join
// through the API, and an admin (Ada, by token) in it in a browser.
func privateRoomWithAdmin(t *testing.T, s *mediaSite, room string) (*person, *browser) {
	t.Helper()
	owner := s.person(t, "127.0.0.1")
	if a := owner.apiCall("POST", "/api/v1/room", `{"roomName":"`+room+`","privacy":"private","enableRequestToJoin":true}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	adminB := newBrowser(t)
	tok := owner.mintToken(`{"roomName":"` + room + `","isAdmin":true}`)
	adminB.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room="+room+"&name=Ada&token="+url.QueryEscape(tok))))
	adminB.waitState("joined", 30*time.Second)
	return owner, adminB
}

func TestBrowserLobbyBothSides(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	owner, adminB := privateRoomWithAdmin(t, s, "board")
	guestB := newBrowser(t)
	adminID := adminB.selfID()

	// A guest from elsewhere, with no invitation, waits and sees nothing.
	relay := relayFrom(t, "127.0.0.2", s.port)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/board?name=Kim")))
	guestB.waitState("lobby", 30*time.Second)
	entry := waitLobbyEntry(t, adminB, "Kim")
	guestB.screenshot("lobby-waiting")
	adminB.screenshot("lobby-admin")
	if n, _ := eval[float64](guestB, 5*time.Second, `document.querySelectorAll('video[data-peer], #participants li').length`); n != 0 {
		t.Fatalf("the waiting guest's page shows %v videos or participants", n)
	}

	// Turned away: the guest's page says so.
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(entry+" .deny")))
	guestB.waitState("denied", 20*time.Second)

	// Knocking again at once is refused (a turned-away address waits a
	// while); from elsewhere, and let in: both see each other.
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/board?name=Kim")))
	guestB.waitState("denied", 30*time.Second)
	elsewhere := relayFrom(t, "127.0.0.3", s.port)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(elsewhere, "/join/board?name=Kim")))
	guestB.waitState("lobby", 30*time.Second)
	entry = waitLobbyEntry(t, adminB, "Kim")
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(entry+" .admit")))
	guestB.waitState("joined", 30*time.Second)
	guestID := guestB.selfID()
	guestB.decodesVideoFrom(adminID, 45*time.Second)
	adminB.decodesVideoFrom(guestID, 45*time.Second)
	if hidden, _ := eval[bool](adminB, 5*time.Second, `document.getElementById('lobby-panel').hidden`); !hidden {
		t.Fatal("the lobby panel still shows after the lobby emptied")
	}
	// The guest gets no admin controls.
	if n, _ := eval[float64](guestB, 5*time.Second, `document.querySelectorAll('#participants .remove, #lock:not([hidden]), #end:not([hidden])').length`); n != 0 {
		t.Fatalf("a guest's page shows %v admin controls", n)
	}
	adminB.screenshot("room-admin")

	// The admin removes the guest from the participant list; Remove asks
	// once before it acts.
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#participants li[data-peer=%q] .remove`, guestID))))
	guestB.staysIn("joined", time.Second)
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#participants li[data-peer=%q] .remove-confirm`, guestID))))
	guestB.waitState("ejected", 20*time.Second)
	guestB.staysIn("ejected", 3*time.Second)

	// The admin locks the room: even with an invitation the guest is turned
	// away, and the page says why.
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS("#lock")))
	if _, err := eval[bool](adminB, 10*time.Second, `(async () => {
		while (document.getElementById('lock').getAttribute('aria-pressed') !== 'true') await new Promise((r) => setTimeout(r, 100));
		return true;
	})()`); err != nil {
		t.Fatalf("the lock button did not show the room locked: %v", err)
	}
	invite := owner.mintToken(`{"roomName":"board"}`)
	guestB.do(30*time.Second, chromedp.Navigate(siteURL(elsewhere, "/join?room=board&name=Kim&token="+url.QueryEscape(invite))))
	guestB.waitState("denied", 30*time.Second)
	if text, _ := eval[string](guestB, 5*time.Second, `document.getElementById('gate-text').textContent`); !strings.Contains(text, "locked") {
		t.Fatalf("the refused guest reads %q", text)
	}
	guestB.screenshot("locked")

	// Unlocked, the guest gets in by pressing Try again.
	if !guestB.visible("gate-retry") {
		t.Fatal("the locked-out guest is not offered to try again")
	}
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS("#lock")))
	adminB.waitJS("the room unlocked", `document.getElementById('lock').getAttribute('aria-pressed') === 'false'`, 10*time.Second)
	guestB.do(10*time.Second, chromedp.Click(chromedp.ID("gate-retry")))
	guestB.waitState("joined", 30*time.Second)
}
