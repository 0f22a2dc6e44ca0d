package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// phoneFacts is how a phone shows the call: the tile on the stage and the
// strip of the others.
type phoneFacts struct {
	Stage          string  // the staged tile's data-tile
	StageW, StageH float64 // its share of the window's width and height
	Strip          int     // tiles in the strip
	Rows           int     // rows they take
	Below          bool    // all below the stage
	StripW         float64 // the widest one's share of the window's width
	Sideways       bool    // the page scrolls sideways
}

func (b *browser) phone() phoneFacts {
	b.t.Helper()
	got, err := eval[string](b, 5*time.Second, `(() => {
		const stage = document.querySelector('#videos.staged .tile.pinned');
		if (!stage) return '{}';
		const r = stage.getBoundingClientRect();
		const strip = [...document.querySelectorAll('#videos .tile')].filter((t) => t !== stage && t.offsetParent !== null).map((t) => t.getBoundingClientRect());
		return JSON.stringify({
			stage: stage.dataset.tile || '', stageW: r.width / innerWidth, stageH: r.height / innerHeight,
			strip: strip.length, rows: new Set(strip.map((s) => Math.round(s.top))).size,
			below: strip.every((s) => s.top >= r.bottom - 1), stripW: Math.max(0, ...strip.map((s) => s.width / innerWidth)),
			sideways: document.documentElement.scrollWidth > innerWidth,
		});
	})()`)
	if err != nil {
		b.t.Fatal(err)
	}
	var f phoneFacts
	if err := json.Unmarshal([]byte(got), &f); err != nil {
		b.t.Fatal(err)
	}
	return f
}

// On a phone (390 × 844) the other person fills the screen and the rest
// (ourselves, a third person) are a strip beneath; a tile's Pin shows on a
// tap, not over its name, and pinned it says Unpin.
func TestBrowserPhoneStageAndStrip(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann, ben := newBrowser(t), newBrowser(t)
	ann.do(30*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(siteURL(s.port, "/join/pocket?name=Ann")))
	ann.waitState("joined", 30*time.Second)
	ben.do(30*time.Second, chromedp.Navigate(siteURL(relayFrom(t, "127.0.0.2", s.port), "/join/pocket?name=Ben")))
	ben.waitState("joined", 30*time.Second)
	benID := ben.selfID()
	ann.decodesVideoFrom(benID, 45*time.Second)
	ann.screenshot("phone-two-390x844")
	check := func(when string, strip int) phoneFacts {
		t.Helper()
		var f phoneFacts
		deadline := time.Now().Add(10 * time.Second)
		for {
			f = ann.phone()
			ok := f.Stage != "" && f.StageW >= 0.9 && f.StageH >= 0.5 && f.Strip == strip && f.Rows == 1 && f.Below && f.StripW < 0.5 && !f.Sideways
			if ok {
				return f
			}
			if time.Now().After(deadline) {
				ann.screenshot("phone-failed")
				t.Fatalf("%s, at 390 × 844: %+v", when, f)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if f := check("with Ben", 1); f.Stage != benID {
		t.Fatalf("Ann's phone stages %q, not Ben (%s)", f.Stage, benID)
	}

	sam := s.person(t, "127.0.0.3").mustJoin("pocket", joinOpts{name: "Sam"})
	receive(sam)
	ann.waitJS("Sam's tile", `document.querySelectorAll('#videos .tile[data-tile]').length === 2`, 10*time.Second)
	check("with Ben and Sam", 2)
	ann.screenshot("phone-three-390x844")

	// Sam's tools: hidden until a tap on a touch screen (the phone is
	// emulated with touch: its pointer is coarse and nothing hovers); Pin
	// puts him on the stage, and then says Unpin.
	samTile := `document.querySelector('.tile[data-tile="` + sam.ID() + `"]')`
	opacity := `Number(getComputedStyle(` + samTile + `.querySelector('.tools')).opacity)`
	if touch, _ := eval[bool](ann, 5*time.Second, `matchMedia('(pointer: coarse)').matches`); !touch {
		t.Fatal("the emulated phone has no touch pointer")
	}
	if o, _ := eval[float64](ann, 5*time.Second, opacity); o != 0 {
		t.Errorf("Sam's tools show before a tap (opacity %v)", o)
	}
	eval[bool](ann, 5*time.Second, `(`+samTile+`.querySelector('video').click(), true)`)
	ann.waitJS("a tap shows Sam's tools", opacity+` === 1`, 5*time.Second)
	ann.pin(sam.ID())
	ann.waitJS("Sam's Pin says Unpin", samTile+`.querySelector('.pin').textContent === 'Unpin' && `+samTile+`.querySelector('.pin').getAttribute('aria-label') === 'Unpin Sam'`, 5*time.Second)
	if f := check("with Sam pinned", 2); f.Stage != sam.ID() {
		t.Fatalf("Ann pinned Sam, the stage shows %q", f.Stage)
	}
	ann.screenshot("phone-pinned-390x844")
}
