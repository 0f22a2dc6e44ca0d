package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserControlsReachTheOtherSide(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	a.decodesVideoFrom(bID, 45*time.Second)

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#mute")))
	tileSays(t, a, bID, "audio", "off")
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#camera")))
	tileSays(t, a, bID, "video", "off")
	a.screenshot("room-camera-off")

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#screen")))
	liveVideo(t, a, bID, "[data-source=screen]", "Ben's screen share")
	a.screenshot("room-screen-share")
}

// annAndBen puts Ann (from 127.0.0.1) and Ben (from 127.0.0.2, his join
// link ending in benQuery) in a call; it returns their browsers and Ben's id.
func annAndBen(t *testing.T, benQuery string) (ann, ben *browser, benID string) {
	t.Helper()
	s := newMediaSite(t, "")
	ann, ben = newBrowser(t), newBrowser(t)
	ann.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	ann.waitState("joined", 30*time.Second)
	relay := relayFrom(t, "127.0.0.2", s.port)
	ben.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Ben"+benQuery)))
	ben.waitState("joined", 30*time.Second)
	return ann, ben, ben.selfID()
}

// liveVideo waits until, on b, a video of peer with the given selector
// suffix plays a live video track and shows a frame of it.
func liveVideo(t *testing.T, b *browser, peer, suffix, what string) {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		for (;;) {
			const v = document.querySelector('video[data-peer=%q]%s');
			if (v && v.srcObject && v.srcObject.getVideoTracks().some((t) => t.readyState === 'live') &&
				v.readyState >= 2 && v.videoWidth > 0) return true;
			await new Promise((r) => setTimeout(r, 200));
		}
	})()`, peer, suffix)
	if _, err := eval[bool](b, 30*time.Second, js); err != nil {
		note, _ := eval[string](b, 5*time.Second, `document.getElementById('notices').textContent`)
		t.Fatalf("%s did not arrive: %v (notices on that side: %q)", what, err, note)
	}
}

// A presenter who joins with camera and microphone off shares a screen
// first and turns the camera on after: the other side labels each for what
// it is, not by which came first.
func TestBrowserScreenShareBeforeCameraIsLabelledAScreen(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "&audio=0&video=0")

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#screen")))
	liveVideo(t, a, bID, "[data-source=screen]", "Ben's screen share")
	// Ben's own tile is there (a tile per person), showing no video.
	if n, _ := eval[int](a, 5*time.Second, fmt.Sprintf(`[...document.querySelectorAll('video[data-peer=%q]:not([data-source])')]
		.filter((v) => v.srcObject && v.srcObject.getVideoTracks().length).length`, bID)); n != 0 {
		t.Fatalf("Ann shows %d camera videos for Ben, who has only shared a screen", n)
	}

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#camera")))
	liveVideo(t, a, bID, ":not([data-source])", "Ben's camera, as a camera")
	if n, _ := eval[int](a, 5*time.Second, fmt.Sprintf(`document.querySelectorAll('video[data-peer=%q][data-source=screen]').length`, bID)); n != 1 {
		t.Fatalf("Ann shows %d screen tiles for Ben, want 1", n)
	}
	a.screenshot("room-screen-before-camera")
}

// Turning the camera off and on more times than a peer may publish tracks:
// the other side sees the camera again every time (the sections of tracks
// turned off no longer count).
func TestBrowserCameraTurnedOffAndOnAgainAndAgain(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	a.decodesVideoFrom(bID, 45*time.Second)
	for i := range 7 {
		b.do(10*time.Second, chromedp.Click(chromedp.CSS("#camera")))
		tileSays(t, a, bID, "video", "off")
		b.do(10*time.Second, chromedp.Click(chromedp.CSS("#camera")))
		tileSays(t, a, bID, "video", "on")
		framesAdvance(t, a, bID, fmt.Sprintf("Ben's camera, turned on for the %d. time", i+2))
	}
	// One transceiver per device: the offer did not grow a section a toggle.
	n, err := eval[int](b, 5*time.Second, `window.roomgate.signal.pub.getTransceivers().length`)
	if err != nil || n != 2 {
		t.Fatalf("Ben's publishing connection has %d transceivers after the toggles (%v); want 2", n, err)
	}
}

// tileSays waits until, on b, peer's camera tile says data-<what>=value.
func tileSays(t *testing.T, b *browser, peer, what, value string) {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		for (;;) {
			const tile = document.querySelector('[data-tile=%q]');
			if (tile && tile.dataset[%q] === %q) return true;
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`, peer, what, value)
	if _, err := eval[bool](b, 15*time.Second, js); err != nil {
		t.Fatalf("%s's tile does not say %s %s: %v", peer, what, value, err)
	}
}

// framesAdvance waits until, on b, peer's camera shows new frames.
func framesAdvance(t *testing.T, b *browser, peer, what string) {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		const v = () => document.querySelector('video[data-peer=%q]:not([data-source])');
		for (;;) {
			if (v()) {
				const before = v().getVideoPlaybackQuality().totalVideoFrames;
				await new Promise((r) => setTimeout(r, 300));
				if (v() && v().getVideoPlaybackQuality().totalVideoFrames > before) return true;
			}
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`, peer)
	if _, err := eval[bool](b, 20*time.Second, js); err != nil {
		t.Fatalf("%s shows no new frames: %v", what, err)
	}
}

// A raised hand shows on the person's tile for everyone, until lowered.
func TestBrowserRaisedHandShowsToTheOthers(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	a.decodesVideoFrom(bID, 45*time.Second)
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#hand")))
	handSays(t, a, bID, true)
	if pressed, _ := eval[string](b, 5*time.Second, `document.getElementById('hand').getAttribute('aria-pressed')`); pressed != "true" {
		t.Fatalf("Ben's hand button is aria-pressed=%q", pressed)
	}
	a.screenshot("room-hand")
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#hand")))
	handSays(t, a, bID, false)
}

// handSays waits until, on b, peer's tile shows a raised hand, or none.
func handSays(t *testing.T, b *browser, peer string, raised bool) {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		for (;;) {
			const tile = document.querySelector('[data-tile=%q]');
			if (tile && tile.hasAttribute('data-hand') === %v) return true;
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`, peer, raised)
	if _, err := eval[bool](b, 15*time.Second, js); err != nil {
		t.Fatalf("%s's tile does not show the hand %v: %v", peer, raised, err)
	}
}

// A chat message arrives on the other page as the text that was typed,
// markup and all, never as markup.
func TestBrowserChatArrivesEscaped(t *testing.T) {
	t.Parallel()
	a, b, _ := annAndBen(t, "")
	const text = `<b>bold</b> & <img src=x onerror="document.body.dataset.pwned=1">`
	b.say(text)
	got, err := eval[string](a, 15*time.Second, `(async () => {
		for (;;) {
			const m = document.querySelector('[data-chat]');
			if (m) return m.textContent + '|' + m.querySelectorAll('*').length + '|' + (document.body.dataset.pwned || '');
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`)
	if err != nil || got != text+"|0|" {
		t.Fatalf("Ann's page shows the chat as %q (%v)", got, err)
	}
	a.screenshot("room-chat")
}

// On a phone-sized screen the page does not scroll sideways, and the call
// controls fit in one row.
func TestBrowserMobileLayoutFits(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	a.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	a.decodesVideoFrom(bID, 45*time.Second)
	b.say("hello from a long way away, with a rather long sentence")
	got, err := eval[string](a, 15*time.Second, `(async () => {
		while (!document.querySelector('[data-chat]')) await new Promise((r) => setTimeout(r, 100));
		const wide = document.documentElement.scrollWidth > window.innerWidth;
		const tops = [...document.querySelectorAll('.controls button')].filter((x) => x.offsetParent !== null).map((x) => x.getBoundingClientRect().top);
		const rows = new Set(tops.map((t) => Math.round(t))).size;
		return (wide ? 'scrolls sideways ' + document.documentElement.scrollWidth : 'fits') + ', ' + rows + ' row(s) of ' + tops.length;
	})()`)
	if err != nil || !strings.HasPrefix(got, "fits, 1 row(s)") {
		a.screenshot("mobile-failed")
		t.Fatalf("at 390 × 844 the page %s (%v)", got, err)
	}
	a.screenshot("mobile")
}
