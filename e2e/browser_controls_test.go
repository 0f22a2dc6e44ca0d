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
	s := newMediaSite(t, "")
	a, b := newBrowser(t), newBrowser(t)
	a.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	a.waitState("joined", 30*time.Second)
	relay := relayFrom(t, "127.0.0.2", s.port)
	b.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Ben")))
	b.waitState("joined", 30*time.Second)
	bID := b.selfID()
	a.decodesVideoFrom(bID, 45*time.Second)

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#mute")))
	remoteTrackGone(t, a, bID, "audio")
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#camera")))
	remoteTrackGone(t, a, bID, "video")

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#screen")))
	js := fmt.Sprintf(`(async () => {
		for (;;) {
			const v = document.querySelector('video[data-peer=%q][data-source=screen]');
			if (v && v.srcObject && v.srcObject.getVideoTracks().some((t) => t.readyState === 'live')) return true;
			await new Promise((r) => setTimeout(r, 200));
		}
	})()`, bID)
	if _, err := eval[bool](a, 30*time.Second, js); err != nil {
		note, _ := eval[string](b, 5*time.Second, `document.getElementById('notices').textContent`)
		t.Fatalf("no screen share arrived: %v (sharer's notices: %q)", err, note)
	}
	a.screenshot("room-screen-share")
}
