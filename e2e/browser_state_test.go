package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shownIcons is, in the element selected, the accessible names of the
// state icons shown, joined by commas.
func shownIcons(sel string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].filter((i) => i.tagName === 'svg' && i.getAttribute('role') === 'img'
		&& getComputedStyle(i).display !== 'none' && i.getBoundingClientRect().width > 0).map((i) => i.getAttribute('aria-label')).join(',')`, sel+" .states .icon")
}

// A muted microphone, a camera off and a raised hand show to the others as
// icons (SVG, with words for screen readers, no emoji) on the tile and in
// the people list, whose entries carry data-person, data-role, data-audio
// and data-video.
func TestBrowserStateIconsAndPeopleEntries(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	a.do(10*time.Second, chromedp.EmulateViewport(1280, 800))
	a.decodesVideoFrom(bID, 45*time.Second)
	entry := fmt.Sprintf(`#participants [data-person=%q]`, bID)
	tile := fmt.Sprintf(`[data-tile=%q]`, bID)
	a.waitJS("Ben's entry, on", fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		return !!e && e.dataset.role === 'guest' && e.dataset.audio === 'on' && e.dataset.video === 'on'; })()`, entry)+
		` && `+shownIcons(entry)+` === '' && `+shownIcons(tile)+` === ''`, 10*time.Second)

	b.do(10*time.Second, chromedp.Click(chromedp.ID("mute")), chromedp.Click(chromedp.ID("camera")), chromedp.Click(chromedp.ID("hand")))
	const all = "Microphone off,Camera off,Hand raised"
	a.waitJS("Ben's entry and tile, off and with a hand", fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		return !!e && e.dataset.audio === 'off' && e.dataset.video === 'off'; })()`, entry)+
		fmt.Sprintf(` && %s === %q && %s === %q`, shownIcons(entry), all, shownIcons(tile), all), 15*time.Second)
	if emoji, _ := eval[bool](a, 5*time.Second, `document.body.innerText.includes('✋')`); emoji {
		t.Error("the page still shows the hand as an emoji")
	}
	// Every entry says who it is; Ben's own list and tile say what he sends.
	a.waitJS("every entry carries the contract", `[...document.querySelectorAll('#participants li')].every((e) =>
		e.dataset.person && ['owner', 'host', 'admin', 'guest'].includes(e.dataset.role) && /^(on|off)$/.test(e.dataset.audio) && /^(on|off)$/.test(e.dataset.video))`, 5*time.Second)
	b.waitJS("Ben's own entry and tile", fmt.Sprintf(`document.querySelector('[data-person=%q]').dataset.audio === 'off' && %s === %q`, bID, shownIcons("#self-tile"), all), 5*time.Second)
	a.screenshot("state-icons-1280x800")

	b.do(10*time.Second, chromedp.Click(chromedp.ID("mute")))
	a.waitJS("Ben unmuted", fmt.Sprintf(`document.querySelector(%q).dataset.audio === 'on' && %s === 'Camera off,Hand raised'`, entry, shownIcons(tile)), 15*time.Second)
}
