package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// gateSays waits until b's page is in state and its message has every
// one of want in it, and returns the message.
func gateSays(t *testing.T, b *browser, state string, want ...string) string {
	t.Helper()
	b.waitState(state, 30*time.Second)
	text, err := eval[string](b, 5*time.Second, `document.getElementById('gate-title').textContent + ' / ' + document.getElementById('gate-text').textContent`)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Fatalf("in %s the page says %q; want %q in it", state, text, w)
		}
	}
	return text
}

// previewShows waits until the waiting page shows the person's own camera,
// with Cancel beside it.
func previewShows(t *testing.T, b *browser) {
	t.Helper()
	b.waitJS("the camera preview and Cancel", `(() => {
		const v = document.getElementById('gate-preview');
		return !v.hidden && v.videoWidth > 0 && v.srcObject.getVideoTracks()[0].readyState === 'live' &&
			!document.getElementById('gate-cancel').hidden;
	})()`, 20*time.Second)
}

// lobbyGone waits until the admin's page no longer lists name as waiting.
func lobbyGone(t *testing.T, b *browser, name string) {
	t.Helper()
	b.waitJS(name+" gone from the lobby", fmt.Sprintf(`![...document.querySelectorAll('#lobby li')].some((l) => l.textContent.includes(%q))`, name), 20*time.Second)
}

// On a host_protected site: the waiting page says what will happen before
// and after the host comes, shows the person's camera and lets them
// cancel; the early guest is remembered by their browser, so a colleague
// behind the same address who comes after the host goes straight in.
func TestBrowserWaitingForTheHostSaysWhatHappensAndRemembersTheBrowser(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "host_protected")
	office := relayFrom(t, "127.0.0.2", s.port)
	gwen, kit, hostB := newBrowser(t), newBrowser(t), newBrowser(t)

	gwen.do(30*time.Second, chromedp.Navigate(siteURL(office, "/join/standup?name=Gwen")))
	said := gateSays(t, gwen, "waiting-for-host", "Waiting for the host", "asks them to let you in")
	if strings.Contains(said, "will let you in then") {
		t.Fatalf("the waiting page promises to let Gwen in: %q", said)
	}
	previewShows(t, gwen)
	gwen.screenshot("waiting-for-host-preview")
	// Cancel stops the checks (the page does not come back to waiting by
	// itself, its next check is 3 s away) and lets the camera go; Try
	// again waits again.
	gwen.do(10*time.Second, chromedp.Click(chromedp.ID("gate-cancel")))
	gateSays(t, gwen, "ended", "You stopped waiting")
	gwen.staysIn("ended", 4*time.Second)
	gwen.do(10*time.Second, chromedp.Click(chromedp.ID("gate-retry")))
	gateSays(t, gwen, "waiting-for-host", "asks them to let you in")
	previewShows(t, gwen)

	hostB.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?"+url.Values{"room": {"standup"}, "name": {"Alice"},
		"username": {"alice"}, "password": {password}}.Encode())))
	hostB.waitState("joined", 30*time.Second)

	// Gwen came first: she knocks, and the page says the host lets her in.
	gateSays(t, gwen, "lobby", "Waiting to be let in", "You came before the host", "let you in")
	previewShows(t, gwen)
	waitLobbyEntry(t, hostB, "Gwen")
	gwen.screenshot("lobby-early-preview")

	// Kit, from the same office address, comes after the host: straight in.
	kit.do(30*time.Second, chromedp.Navigate(siteURL(office, "/join/standup?name=Kit")))
	kit.waitState("joined", 30*time.Second)
	kitID := kit.selfID()
	hostB.decodesVideoFrom(kitID, 45*time.Second)
	if listed, _ := eval[bool](hostB, 5*time.Second, `[...document.querySelectorAll('#lobby li')].some((l) => l.textContent.includes('Kit'))`); listed {
		t.Fatal("Kit, who came after the host, was put in the lobby")
	}

	// Gwen cancels: the host's lobby no longer lists her, and her camera
	// is let go.
	gwen.do(10*time.Second, chromedp.Click(chromedp.ID("gate-cancel")))
	gateSays(t, gwen, "ended", "You stopped waiting")
	lobbyGone(t, hostB, "Gwen")
	if live, _ := eval[bool](gwen, 5*time.Second, `!document.getElementById('gate-preview').hidden`); live {
		t.Fatal("the preview still shows after Cancel")
	}

	// Her browser still knows she came early: trying again, she knocks,
	// and the host lets her in.
	gwen.do(10*time.Second, chromedp.Click(chromedp.ID("gate-retry")))
	gateSays(t, gwen, "lobby", "You came before the host")
	entry := waitLobbyEntry(t, hostB, "Gwen")
	hostB.do(10*time.Second, chromedp.Click(chromedp.CSS(entry+" .admit")))
	gwen.waitState("joined", 30*time.Second)
	if live, _ := eval[bool](gwen, 5*time.Second, `!document.getElementById('gate-preview').hidden || !!document.getElementById('gate-preview').srcObject`); live {
		t.Fatal("the waiting preview stays on in the call")
	}
}

// In a private room: the lobby's words name the room as it was typed, the
// person sees their camera and can cancel (the admin's list lets them go);
// once an admin ends the meeting, its link says so before the pre-join
// screen, not after Join.
func TestBrowserPrivateLobbyAndAnEndedMeeting(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	owner, adminB := privateRoomWithAdmin(t, s, "retro")
	kim := newBrowser(t)

	relay := relayFrom(t, "127.0.0.2", s.port)
	kim.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/retro?name=Kim")))
	said := gateSays(t, kim, "lobby", "Waiting to be let in", "The room retro is private")
	if strings.Contains(said, "Retro") {
		t.Fatalf("the room's name is not as typed: %q", said)
	}
	if title, _ := eval[string](kim, 5*time.Second, `document.querySelector('.room-name').textContent + ' ' + document.title`); strings.Contains(title, "Retro") {
		t.Fatalf("the page names the room %q", title)
	}
	previewShows(t, kim)
	waitLobbyEntry(t, adminB, "Kim")
	kim.do(10*time.Second, chromedp.Click(chromedp.ID("gate-cancel")))
	gateSays(t, kim, "ended", "You stopped waiting")
	lobbyGone(t, adminB, "Kim")
	if hidden, _ := eval[bool](adminB, 5*time.Second, `document.getElementById('lobby-panel').hidden`); !hidden {
		t.Fatal("the admin's lobby panel still shows after the only knock was cancelled")
	}

	// Ada ends the meeting for everyone.
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS("#more")), chromedp.Click(chromedp.CSS("#end")))
	adminB.do(10*time.Second, chromedp.Click(chromedp.CSS("#end")))
	adminB.waitState("ended", 20*time.Second)

	// Kim, now with an invitation, opens the link with the pre-join
	// screen on: the page says the meeting has ended, and shows no
	// pre-join screen and no Join to press.
	invite := owner.mintToken(`{"roomName":"retro"}`)
	lee := newBrowser(t)
	lee.do(30*time.Second, chromedp.Navigate(fmt.Sprintf("http://localhost:%d/join?room=retro&name=Lee&prejoin=1&token=%s", relay, url.QueryEscape(invite))))
	gateSays(t, lee, "ended", "The meeting has ended")
	if shown, _ := eval[bool](lee, 5*time.Second, `!document.getElementById('prejoin').hidden`); shown {
		t.Fatal("the pre-join screen shows for an ended meeting")
	}
	lee.screenshot("ended-before-join")
	// Without the invitation the answer is the same, not the lobby.
	kim.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/retro?name=Kim")))
	gateSays(t, kim, "ended", "The meeting has ended")
}
