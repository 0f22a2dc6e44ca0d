package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// remoteTrackGone waits until, on b, the kind track received from peer has
// ended, is muted, or was removed from its stream. The peer's video must be
// playing when it is called.
func remoteTrackGone(t *testing.T, b *browser, peer, kind string) {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		for (;;) {
			const v = document.querySelector('video[data-peer=%q]:not([data-source])');
			const tracks = v && v.srcObject ? v.srcObject.getTracks().filter((t) => t.kind === %q) : [];
			// The tile goes away with its last track.
			if (!v || tracks.length === 0 || tracks.every((t) => t.muted || t.readyState === 'ended')) return true;
			await new Promise((r) => setTimeout(r, 200));
		}
	})()`, peer, kind)
	if _, err := eval[bool](b, 30*time.Second, js); err != nil {
		t.Fatalf("the %s of %s still plays on the other side: %v", kind, peer, err)
	}
}

func TestBrowserControlsReachTheOtherSide(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	a.decodesVideoFrom(bID, 45*time.Second)

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#mute")))
	remoteTrackGone(t, a, bID, "audio")
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#camera")))
	remoteTrackGone(t, a, bID, "video")

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
	if n, _ := eval[int](a, 5*time.Second, fmt.Sprintf(`document.querySelectorAll('video[data-peer=%q]:not([data-source])').length`, bID)); n != 0 {
		t.Fatalf("Ann shows %d camera tiles for Ben, who has only shared a screen", n)
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
		remoteTrackGone(t, a, bID, "video")
		b.do(10*time.Second, chromedp.Click(chromedp.CSS("#camera")))
		liveVideo(t, a, bID, ":not([data-source])", fmt.Sprintf("Ben's camera, turned on for the %d. time", i+2))
	}
}
