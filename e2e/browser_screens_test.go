package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// screenSizes are the screens people have: a laptop, a small laptop with
// the browser's bars, a phone.
var screenSizes = []struct {
	w, h   int64
	mobile bool
}{{1280, 800, false}, {1366, 657, false}, {390, 844, true}}

// docScreenshotsEnv, when set to a directory, has the main states'
// screenshots written there too, as the JPEGs docs/browser.md shows
// (docs/screenshots: `ROOMGATE_DOC_SCREENSHOTS=$PWD/docs/screenshots go
// test ./e2e -run MainStates`).
const docScreenshotsEnv = "ROOMGATE_DOC_SCREENSHOTS"

// fits says what of the page a person at this size cannot reach without
// scrolling sideways or at all: "" when everything named is in view.
func (b *browser) fits(ids ...string) string {
	b.t.Helper()
	got, err := eval[string](b, 5*time.Second, fmt.Sprintf(`(() => {
		if (document.documentElement.scrollWidth > innerWidth) return 'the page scrolls sideways (' + document.documentElement.scrollWidth + ' > ' + innerWidth + ')';
		for (const id of %q.split(' ').filter(Boolean)) {
			const el = document.getElementById(id);
			if (!el || el.offsetParent === null) return id + ' is not shown';
			const r = el.getBoundingClientRect();
			if (r.top < 0 || r.left < 0 || r.bottom > innerHeight + 1 || r.right > innerWidth + 1) return id + ' is outside the window';
		}
		return '';
	})()`, joinIDs(ids)))
	if err != nil {
		b.t.Fatal(err)
	}
	return got
}

func joinIDs(ids []string) (s string) {
	for _, id := range ids {
		s += id + " "
	}
	return s
}

// docShot writes the page as a JPEG into the docs' directory, when asked.
func (b *browser) docShot(name string) {
	b.t.Helper()
	dir := os.Getenv(docScreenshotsEnv)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	// The window as the person sees it (a full-page capture would draw
	// the fixed controls in the middle of a long page).
	var jpeg []byte
	quality, surface := int64(70), true
	_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: &quality, FromSurface: &surface})
		if err == nil {
			jpeg = r.Data
		}
		return err
	}))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".jpg"), jpeg, 0o644); err != nil {
		b.t.Error(err)
	}
}

// The main states at each of the three sizes: the start page, the
// pre-join screen, a call of three and the page after Leave; at each the
// controls a person needs are in the window, and nothing scrolls sideways.
func TestBrowserMainStatesAtThreeSizes(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	// Two others, in browsers, so that their tiles show pictures.
	var others []string
	for _, name := range []string{"Cam", "Ben"} {
		o := newBrowser(t)
		o.do(30*time.Second, chromedp.Navigate(siteURL(relayFrom(t, "127.0.0.2", s.port), "/join/weekly?name="+name)))
		o.waitState("joined", 30*time.Second)
		others = append(others, o.selfID())
	}
	for _, size := range screenSizes {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			b := newBrowser(t)
			viewport := chromedp.EmulateViewport(size.w, size.h)
			if size.mobile {
				viewport = chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateMobile)
			}
			shot := func(state string) {
				name := fmt.Sprintf("%s-%dx%d", state, size.w, size.h)
				b.screenshot(name)
				b.docShot(name)
			}
			b.do(30*time.Second, viewport, chromedp.Navigate(siteURL(s.port, "/")))
			b.waitState("home", 20*time.Second)
			if miss := b.fits("room", "name"); miss != "" {
				t.Errorf("start page: %s", miss)
			}
			shot("start")

			b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/weekly?name=Ann&prejoin=1")))
			b.waitState("prejoin", 20*time.Second)
			b.waitJS("the preview shows the camera", `document.getElementById('preview').videoWidth > 0`, 15*time.Second)
			if miss := b.fits("prejoin-join"); miss != "" {
				t.Errorf("pre-join screen: %s", miss)
			}
			shot("prejoin")

			b.do(10*time.Second, chromedp.Click(chromedp.ID("prejoin-join")))
			b.waitState("joined", 30*time.Second)
			for _, id := range others {
				b.decodesVideoFrom(id, 45*time.Second)
			}
			if miss := b.fits("mute", "camera", "leave"); miss != "" {
				t.Errorf("the call: %s", miss)
			}
			shot("call")

			b.do(10*time.Second, chromedp.Click(chromedp.ID("leave")))
			b.waitState("ended", 20*time.Second)
			if miss := b.fits("gate-rejoin"); miss != "" {
				t.Errorf("after Leave: %s", miss)
			}
			shot("left")
		})
	}
}
