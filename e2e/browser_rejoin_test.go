package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// After Leave the page offers Rejoin, which brings the person back into the
// same room under the same name, without reloading the page; the others see
// them again.
func TestBrowserRejoinAfterLeave(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	b.do(10*time.Second, chromedp.EmulateViewport(1280, 800))
	a.decodesVideoFrom(bID, 45*time.Second)
	eval[bool](b, 5*time.Second, `window.samePage = true`)
	b.do(10*time.Second, chromedp.Click(chromedp.ID("leave")))
	b.waitState("ended", 10*time.Second)
	a.waitJS("Ben gone from Ann's page", fmt.Sprintf(`!document.querySelector('[data-tile=%q], [data-person=%q]')`, bID, bID), 15*time.Second)
	b.waitJS("a button named Rejoin", `[...document.querySelectorAll('button')].some((x) => x.textContent.trim() === 'Rejoin' && x.offsetParent !== null)`, 5*time.Second)
	b.screenshot("left-rejoin-1280x800")

	b.do(10*time.Second, chromedp.Click(chromedp.ID("gate-rejoin")))
	b.waitState("joined", 30*time.Second)
	if same, _ := eval[bool](b, 5*time.Second, `window.samePage === true`); !same {
		t.Error("Rejoin reloaded the page")
	}
	back := b.selfID()
	if back == bID {
		t.Fatalf("Ben is back under his old id %s", bID)
	}
	a.waitJS("Ann sees Ben again, once", fmt.Sprintf(`document.querySelectorAll('#participants [data-person]').length === 2
		&& document.querySelector('[data-person=%q]')?.textContent.startsWith('Ben')`, back), 15*time.Second)
	a.decodesVideoFrom(back, 45*time.Second)
	b.waitJS("Ben sees Ann again", `document.querySelectorAll('#participants [data-person]').length === 2 && document.querySelectorAll('.tile[data-tile]').length === 1`, 15*time.Second)
}
