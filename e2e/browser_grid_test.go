package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// gridFacts is how the page lays out its tiles.
type gridFacts struct {
	Tiles    int     // tiles shown
	Inside   bool    // every tile wholly within the grid's box
	Scrolls  bool    // the grid or the page scrolls
	Fill     float64 // the tiles' area over the grid's
	MinWidth float64 // the narrowest tile, in CSS pixels
}

func (b *browser) grid() gridFacts {
	b.t.Helper()
	f, err := eval[gridFacts](b, 5*time.Second, `(() => {
		const g = document.getElementById('videos');
		const box = g.getBoundingClientRect();
		const tiles = [...g.querySelectorAll('.tile')].filter((t) => t.offsetParent !== null);
		let area = 0, inside = true, min = Infinity;
		for (const t of tiles) {
			const r = t.getBoundingClientRect();
			area += r.width * r.height;
			min = Math.min(min, r.width);
			inside &&= r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
		}
		const de = document.documentElement;
		return { Tiles: tiles.length, Inside: inside, Fill: area / (box.width * box.height),
			MinWidth: tiles.length ? min : 0,
			Scrolls: g.scrollHeight > g.clientHeight + 1 || g.scrollWidth > g.clientWidth + 1 || de.scrollWidth > window.innerWidth };
	})()`)
	if err != nil {
		b.t.Fatal(err)
	}
	return f
}

// The grid fills the window for 1 to 25 people and re-flows as they come
// and go; every person has a tile, whether or not they send anything (the
// Go peers here send nothing: their tiles show initials).
func TestBrowserGridFillsTheWindowFromOneToTwentyFive(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	b := newBrowser(t)
	// Ann's microphone is on, so that media reaches everyone (and the
	// server can judge their connections); her camera is off.
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/grid?name=Ann&video=0")))
	b.waitState("joined", 30*time.Second)

	var people []*signal.Client
	check := func(want int) {
		t.Helper()
		b.waitJS(fmt.Sprintf("%d tiles", want), fmt.Sprintf(`document.querySelectorAll('#videos .tile').length === %d`, want), 20*time.Second)
		time.Sleep(300 * time.Millisecond) // the resize observer's next frame
		f := b.grid()
		t.Logf("%2d tiles: fill %.2f, narrowest %.0f px", f.Tiles, f.Fill, f.MinWidth)
		if f.Tiles != want || !f.Inside || f.Scrolls || f.Fill < 0.35 || f.MinWidth < 150 {
			b.screenshot(fmt.Sprintf("grid-%d-failed", want))
			t.Fatalf("%d people: %+v", want, f)
		}
	}
	check(1)
	for _, n := range []int{2, 3, 5, 9, 16, 25} {
		for len(people)+1 < n {
			c := s.person(t, fmt.Sprintf("127.0.2.%d", len(people)+1)).mustJoin("grid", joinOpts{name: fmt.Sprintf("Person %d", len(people)+1)})
			receive(c) // reads what arrives, as a person's browser would
			people = append(people, c)
		}
		check(n)
	}
	// Each tile shows how well media reaches that person, as the server
	// judges it (loopback: good).
	b.waitJS("every tile shows a good connection", `[...document.querySelectorAll('.tile[data-tile]')].every((t) =>
		t.dataset.connection === 'good' && !t.querySelector('.conn').hidden && t.querySelector('.conn').getAttribute('aria-label') === 'Connection: good')`, 20*time.Second)
	b.screenshot("grid-25-1280")
	// Full screen, per tile.
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(".tile[data-tile] .full")))
	b.waitJS("a tile fills the screen", `document.fullscreenElement?.matches('.tile[data-tile]')`, 5*time.Second)
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(".tile[data-tile] .full")))
	b.waitJS("and leaves it", `!document.fullscreenElement`, 5*time.Second)
	if n, _ := eval[int](b, 5*time.Second, `[...document.querySelectorAll('.tile[data-tile]')].filter((t) => getComputedStyle(t.querySelector('.avatar')).display !== 'none').length`); n != 24 {
		t.Errorf("%d of 24 silent people's tiles show their initials", n)
	}
	b.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	time.Sleep(300 * time.Millisecond)
	if wide, _ := eval[bool](b, 5*time.Second, `document.documentElement.scrollWidth > window.innerWidth`); wide {
		t.Error("25 tiles at 390 × 844 scroll sideways")
	}
	b.screenshot("grid-25-390")
	b.do(10*time.Second, chromedp.EmulateViewport(1280, 800))

	// People leave: the grid re-flows down to one.
	for _, n := range []int{16, 4, 1} {
		for len(people)+1 > n {
			people[len(people)-1].Close()
			people = people[:len(people)-1]
		}
		check(n)
	}
}

// The person speaking, from the audio levels their microphone sends, is
// ringed on Ann's page, and the ring moves when someone else speaks.
func TestBrowserSpeakerIsRinged(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/talk?name=Ann&audio=0&video=0")))
	b.waitState("joined", 30*time.Second)
	sam := s.person(t, "127.0.0.2").mustJoin("talk", joinOpts{name: "Sam"})
	quinn := s.person(t, "127.0.0.3").mustJoin("talk", joinOpts{name: "Quinn"})
	samLevel, quinnLevel := publishSpeech(t, sam, 20), publishSpeech(t, quinn, 127) // 127: silence
	ringed := func(id string) string {
		return fmt.Sprintf(`(() => { const on = [...document.querySelectorAll('.tile[data-speaking]')];
			return on.length === 1 && on[0].dataset.tile === %q && on[0].classList.contains('speaking')
				&& document.querySelector('#participants li.speaking')?.dataset.peer === %q; })()`, id, id)
	}
	b.waitJS("Sam is ringed", ringed(sam.ID()), 15*time.Second)
	samLevel.Store(127)
	quinnLevel.Store(20)
	b.waitJS("the ring moves to Quinn", ringed(quinn.ID()), 15*time.Second)
}
