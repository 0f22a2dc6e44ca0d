package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// waitJS waits until the expression is true in the page.
func (b *browser) waitJS(what, expr string, d time.Duration) {
	b.t.Helper()
	js := fmt.Sprintf(`(async () => { for (;;) { if (%s) return true; await new Promise((r) => setTimeout(r, 100)); } })()`, expr)
	if _, err := eval[bool](b, d, js); err != nil {
		b.t.Fatalf("%s: %v (page state %q)", what, err, b.state())
	}
}

// The pre-join screen: the person sees themselves, the microphone moves the
// meter, the devices are listed and the choice is remembered, and they come
// in under the name they typed with the microphone off, which the others see.
func TestBrowserPrejoinPreviewMeterDevicesAndJoinMuted(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann, ben := newBrowser(t), newBrowser(t)
	ann.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	ann.waitState("joined", 30*time.Second)

	ben.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ben&prejoin=1")))
	ben.waitState("prejoin", 20*time.Second)
	ben.waitJS("the preview shows the camera", `document.getElementById('preview').videoWidth > 0`, 15*time.Second)
	// Browsers start sound after a gesture: a click on the page.
	ben.do(10*time.Second, chromedp.Click(chromedp.ID("prejoin-name")))
	ben.waitJS("the level meter moves with the microphone", `document.getElementById('prejoin-level').value > 0.05`, 15*time.Second)
	for _, sel := range []string{"prejoin-camera", "prejoin-microphone"} {
		ben.waitJS(sel+" lists devices", `document.getElementById('`+sel+`').options.length > 0`, 5*time.Second)
	}
	if v, _ := eval[string](ben, 5*time.Second, `document.getElementById('prejoin-name').value`); v != "Ben" {
		t.Errorf("the name field holds %q", v)
	}
	ben.screenshot("prejoin-1280")
	ben.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	if wide, _ := eval[bool](ben, 5*time.Second, `document.documentElement.scrollWidth > window.innerWidth`); wide {
		t.Error("the pre-join screen scrolls sideways at 390 × 844")
	}
	ben.screenshot("prejoin-390")
	ben.do(10*time.Second, chromedp.EmulateViewport(1280, 800))

	// Choose the last microphone; the page remembers it, and the name.
	mic, err := eval[string](ben, 5*time.Second, `(() => { const s = document.getElementById('prejoin-microphone');
		s.selectedIndex = s.options.length - 1; s.dispatchEvent(new Event('change')); return s.value; })()`)
	if err != nil || mic == "" {
		t.Fatalf("choosing a microphone: %q %v", mic, err)
	}
	ben.waitJS("the choice is remembered", `(JSON.parse(localStorage.getItem('roomgate.devices') || '{}').microphone || '') !== ''`, 5*time.Second)
	ben.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?prejoin=1")))
	ben.waitState("prejoin", 20*time.Second)
	ben.waitJS("the remembered microphone is chosen again", fmt.Sprintf(`document.getElementById('prejoin-microphone').value === %q`, mic), 10*time.Second)

	ben.do(10*time.Second,
		chromedp.SetValue(chromedp.ID("prejoin-name"), "Benjamin"),
		chromedp.Click(chromedp.ID("prejoin-mic")),
	)
	if p, _ := eval[string](ben, 5*time.Second, `document.getElementById('prejoin-mic').getAttribute('aria-pressed')`); p != "true" {
		t.Fatalf("Microphone off reads aria-pressed=%q after a press", p)
	}
	ben.do(10*time.Second, chromedp.Click(chromedp.ID("prejoin-join")))
	ben.waitState("joined", 30*time.Second)
	benID := ben.selfID()
	ann.decodesVideoFrom(benID, 30*time.Second)
	tile := fmt.Sprintf(`document.querySelector('[data-tile=%q]')`, benID)
	ann.waitJS("Ann sees Ben muted under the name he typed", tile+` && `+tile+`.dataset.audio === 'off' && `+tile+`.querySelector('figcaption').textContent.startsWith('Benjamin')`, 15*time.Second)
	if live, _ := eval[bool](ben, 5*time.Second, `(document.getElementById('self').srcObject?.getAudioTracks() || []).some((t) => t.readyState === 'live')`); live {
		t.Error("Ben joined with the microphone off, but his page still holds a live microphone")
	}
}

// A person whose browser gives no devices is told why and how to allow
// them, and joins to watch and listen.
func TestBrowserPrejoinWithoutDevicesJoinsToWatchAndListen(t *testing.T) {
	t.Parallel()
	s := newMediaSiteConfig(t, siteConfig{anyHost: true})
	ann := newBrowser(t)
	ann.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	ann.waitState("joined", 30*time.Second)
	annID := ann.selfID()

	// Access denied.
	// Without the flag that answers every prompt yes, the denial holds.
	denied := newBrowserWith(t, chromedp.Flag("use-fake-ui-for-media-stream", false))
	for _, p := range []string{"camera", "microphone"} {
		if _, err := chromedp.CallBrowser(denied.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: p}, Setting: cdpbrowser.PermissionSettingDenied,
			Origin: fmt.Sprintf("http://localhost:%d", s.port),
		}); err != nil {
			t.Fatalf("denying %s: %v", p, err)
		}
	}
	// Not secure: a name other than localhost on plain HTTP. The start page
	// says so too.
	insecure := newBrowserWith(t, chromedp.Flag("host-resolver-rules", "MAP roomgate.test 127.0.0.1"))
	insecure.do(30*time.Second, chromedp.Navigate(fmt.Sprintf("http://roomgate.test:%d/", s.port)))
	insecure.waitJS("the start page says the page is not secure", `!document.getElementById('insecure').hidden && document.getElementById('insecure').textContent.includes('ROOMGATE_SITE')`, 10*time.Second)
	insecure.screenshot("home-insecure")
	for _, c := range []struct {
		b     *browser
		url   string
		why   string
		says  string
		snaps string
	}{
		{denied, siteURL(s.port, "/join/standup?name=Dee&prejoin=1"), "denied", "did not let this page use the camera", "prejoin-denied"},
		{insecure, fmt.Sprintf("http://roomgate.test:%d/join/standup?name=Ivo", s.port), "insecure", "not secure", "prejoin-insecure"},
	} {
		c.b.do(30*time.Second, chromedp.Navigate(c.url))
		c.b.waitState("prejoin", 20*time.Second)
		c.b.waitJS("the screen says why there are no devices", `document.getElementById('prejoin').dataset.devices === '`+c.why+`'`, 15*time.Second)
		if said := c.b.text("prejoin-help"); !strings.Contains(said, c.says) || !strings.Contains(said, "watch and listen") {
			t.Errorf("%s: the screen says %q", c.why, said)
		}
		if disabled, _ := eval[bool](c.b, 5*time.Second, `document.getElementById('prejoin-cam').disabled && document.getElementById('prejoin-mic').disabled`); !disabled {
			t.Errorf("%s: the camera and microphone toggles can be pressed", c.why)
		}
		c.b.screenshot(c.snaps)
		c.b.do(10*time.Second, chromedp.Click(chromedp.ID("prejoin-join")))
		c.b.waitState("joined", 30*time.Second)
		c.b.decodesVideoFrom(annID, 30*time.Second)
	}
}
