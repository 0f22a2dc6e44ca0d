package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// roleOf is the data-role of peer's entry in b's people list ("" if none).
func (b *browser) roleOf(peer string) string {
	r, _ := eval[string](b, 5*time.Second, fmt.Sprintf(`document.querySelector('#participants li[data-person=%q]')?.dataset.role || ''`, peer))
	return r
}

func (b *browser) waitRole(who, peer, role string) {
	b.t.Helper()
	b.waitJS(who+" shown as "+role, fmt.Sprintf(`document.querySelector('#participants li[data-person=%q]')?.dataset.role === %q`, peer, role), 20*time.Second)
}

// adminControls lists the admin's controls b shows: Lock, More (End for
// all), and Mute or Remove on anyone's entry.
func (b *browser) adminControls() string {
	s, _ := eval[string](b, 5*time.Second, `[...document.querySelectorAll('#lock:not([hidden]), #host-tools:not([hidden]), #participants .mute, #participants .remove')].map((e) => e.id || e.className).join(' ')`)
	return s
}

// Issue 26, item 1: on an open site (no host_protected, no user_auth) the
// person who starts a room from the start page runs it, even when someone
// raced in before them; a guest runs nothing; when the owner leaves, the
// one in the room longest runs it; and running one room gives no rights in
// another.
func TestBrowserOpenRoomsCreatorRunsIt(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	annB, kimB := newBrowser(t), newBrowser(t)

	// Ann starts "standup" from the start page; before she has pressed
	// Join, a stranger gets in first, and is the room's owner for now.
	annB.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/")),
		chromedp.SendKeys(chromedp.CSS("#room"), "standup"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Ann"),
		chromedp.Click(chromedp.CSS("#start button[type=submit]")))
	annB.waitState("prejoin", 30*time.Second)
	if pass, _ := eval[string](annB, 5*time.Second, `sessionStorage.getItem('owner_pass.standup') || ''`); pass == "" {
		t.Fatal("the start page kept no owner pass")
	}
	if h := strings.Join(annB.history(), " "); strings.Contains(h, "owner") || strings.Contains(h, "eyJ") {
		t.Fatalf("the owner pass is in the tab's history: %s", h)
	}
	racer := s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{name: "Racer"})
	if racer.Welcome.Peer.Role != "owner" {
		t.Fatalf("the first in is %q", racer.Welcome.Peer.Role)
	}
	annB.waitJS("the preview shows the camera", `document.getElementById('preview').videoWidth > 0`, 15*time.Second)
	annB.do(10*time.Second, chromedp.Click(chromedp.ID("prejoin-join")))
	annB.waitState("joined", 30*time.Second)
	annID := annB.selfID()
	annB.waitRole("Ann", annID, "owner")
	annB.waitRole("the racer", racer.ID(), "guest")
	if m := nextEvent(racer, signal.TypeRole, 10*time.Second); m == nil || m.Peer.ID != racer.ID() || m.Peer.Role != "guest" {
		t.Fatalf("the racer was not told they no longer run the room: %+v", m)
	}

	// Kim, a guest from another address, sees Ann as the owner and has no
	// controls over anyone.
	relay := relayFrom(t, "127.0.0.2", s.port)
	kimB.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Kim")))
	kimB.waitState("joined", 30*time.Second)
	kimID := kimB.selfID()
	kimB.waitRole("Ann", annID, "owner")
	kimB.waitRole("Kim herself", kimID, "guest")
	if c := kimB.adminControls(); c != "" {
		t.Fatalf("a guest is offered %q", c)
	}
	if kimB.offersEndForAll() {
		t.Fatal("a guest is offered End for all")
	}

	// Ann mutes Kim, locks the room (a newcomer is refused), and unlocks it.
	kim := fmt.Sprintf(`#participants li[data-person=%q]`, kimID)
	annB.waitJS("Mute on Kim's entry", fmt.Sprintf(`!!document.querySelector('%s .mute')`, kim), 20*time.Second)
	annB.screenshot("owner-controls")
	annB.do(10*time.Second, chromedp.Click(chromedp.CSS(kim+" .mute")))
	kimB.waitJS("Kim's microphone off", `document.getElementById('mute').textContent === 'Unmute'`, 20*time.Second)
	annB.do(10*time.Second, chromedp.Click(chromedp.ID("lock")))
	annB.waitJS("the room locked", `document.getElementById('lock').getAttribute('aria-pressed') === 'true'`, 10*time.Second)
	if _, err := s.person(t, "127.0.0.4").join("standup", joinOpts{name: "Late"}); err == nil || !strings.Contains(err.Error(), "room_locked") {
		t.Fatalf("a newcomer to the locked room: %v", err)
	}
	annB.do(10*time.Second, chromedp.Click(chromedp.ID("lock")))
	annB.waitJS("the room unlocked", `document.getElementById('lock').getAttribute('aria-pressed') === 'false'`, 10*time.Second)

	// Ann leaves after the racer: Kim, in longest now, runs the room, and
	// everyone's list says so.
	racer.Close()
	annB.waitJS("the racer gone", fmt.Sprintf(`!document.querySelector('#participants li[data-person=%q]')`, racer.ID()), 20*time.Second)
	lee := s.person(t, "127.0.0.5").mustJoin("standup", joinOpts{name: "Lee"})
	annB.do(10*time.Second, chromedp.Click(chromedp.ID("leave")))
	kimB.waitRole("Kim herself", kimID, "owner")
	if m := nextEvent(lee, signal.TypeRole, 10*time.Second); m == nil || m.Peer.ID != kimID || m.Peer.Role != "owner" {
		t.Fatalf("Lee was not told Kim runs the room: %+v", m)
	}
	kimB.waitJS("Kim's controls", fmt.Sprintf(`!document.getElementById('lock').hidden && !!document.querySelector('#participants li[data-person=%q] .remove')`, lee.ID()), 10*time.Second)
	kimB.screenshot("owner-passed-on")
	kimB.do(10*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#participants li[data-person=%q] .remove`, lee.ID()))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#participants li[data-person=%q] .remove-confirm`, lee.ID()))))
	if m := nextEvent(lee, signal.TypeBye, 10*time.Second); m == nil || m.Reason != signal.ByeKicked {
		t.Fatalf("the new owner's Remove did not remove Lee: %+v", m)
	}

	// Running standup gives Kim (her address) no rights in retro, which
	// Mo started.
	mo := s.person(t, "127.0.0.6").mustJoin("retro", joinOpts{name: "Mo"})
	kimInRetro := s.person(t, "127.0.0.2").mustJoin("retro", joinOpts{name: "Kim"})
	if kimInRetro.Welcome.Peer.Role != "guest" {
		t.Fatalf("Kim in retro is %q", kimInRetro.Welcome.Peer.Role)
	}
	if err := kimInRetro.Kick(mo.ID()); err != nil {
		t.Fatal(err)
	}
	if m := nextEvent(kimInRetro, signal.TypeError, 10*time.Second); m == nil || m.Code != "forbidden" {
		t.Fatalf("Kim's kick in retro: %+v", m)
	}
}
