package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/roomgate/roomgate/accesstoken"
)

// auditJS finds, on the page as it is shown, text whose contrast with its
// background is under 4.5:1 (3:1 for large text), and controls a screen
// reader could not name. It returns one line per problem.
const auditJS = `(() => {
	const problems = [];
	const shown = (el) => {
		for (let e = el; e; e = e.parentElement) {
			const cs = getComputedStyle(e);
			if (cs.display === 'none' || cs.visibility === 'hidden' || Number(cs.opacity) === 0 || e.hidden) return false;
		}
		const r = el.getBoundingClientRect();
		return r.width > 0 && r.height > 0;
	};
	const rgba = (c) => { const m = c.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 }; };
	const over = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1 });
	const background = (el) => {
		const layers = [];
		for (let e = el; e; e = e.parentElement) {
			const c = rgba(getComputedStyle(e).backgroundColor);
			if (c.a > 0) layers.push(c);
			if (c.a >= 1) break;
		}
		let bg = { r: 0, g: 0, b: 0, a: 1 }; // behind everything: a video, or the black tile
		for (const c of layers.reverse()) bg = over(c, bg);
		return bg;
	};
	const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
	for (const el of document.querySelectorAll('body *')) {
		if (['SCRIPT', 'STYLE', 'VIDEO', 'OPTION'].includes(el.tagName)) continue;
		const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
		if (!text || el.disabled || !shown(el)) continue;
		const cs = getComputedStyle(el);
		const bg = background(el);
		const r = ratio(over(rgba(cs.color), bg), bg);
		const size = parseFloat(cs.fontSize);
		const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
		if (r < (large ? 3 : 4.5)) problems.push('contrast ' + r.toFixed(2) + ': "' + text.slice(0, 40) + '" (' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ')');
	}
	const nameOf = (el) => {
		if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
		const by = el.getAttribute('aria-labelledby');
		if (by) return by.split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' ').trim();
		if (el.labels?.length) return [...el.labels].map((l) => l.textContent).join(' ').trim();
		return (el.textContent || el.title || el.placeholder || '').trim();
	};
	for (const el of document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')) {
		if (!shown(el) && !el.closest('.tools')) continue;
		if (!nameOf(el)) problems.push('no name: ' + el.outerHTML.slice(0, 80));
	}
	return problems;
})()`

// focusables lists the page's visible focusable elements in the Tab order,
// as selectors (a tab that is not chosen, tabindex -1, is reached by the
// arrow keys instead).
const focusablesJS = `[...document.querySelectorAll('a[href], button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea')]
	.filter((el) => el.getAttribute('tabindex') !== '-1')
	.filter((el) => { for (let e = el; e; e = e.parentElement) { const cs = getComputedStyle(e); if (cs.display === 'none' || cs.visibility === 'hidden' || e.hidden) return false; } return true; })
	.map((el) => el.id ? '#' + el.id : el.outerHTML.slice(0, 60))`

// tabThrough presses Tab until focus comes back round, and returns what got
// focus, each with whether a focus ring showed.
func (b *browser) tabThrough(max int) (reached map[string]bool, noRing []string) {
	b.t.Helper()
	reached = map[string]bool{}
	eval[bool](b, 5*time.Second, `(document.activeElement?.blur(), true)`)
	for range max {
		b.do(5*time.Second, chromedp.KeyEvent(kb.Tab))
		got, err := eval[[]string](b, 5*time.Second, `(() => { const el = document.activeElement;
			if (!el || el === document.body) return ['', ''];
			const cs = getComputedStyle(el);
			const ring = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
			return [el.id ? '#' + el.id : el.outerHTML.slice(0, 60), ring ? 'ring' : ''];
		})()`)
		if err != nil {
			b.t.Fatal(err)
		}
		if got[0] == "" {
			continue
		}
		if reached[got[0]] {
			break
		}
		reached[got[0]] = true
		if got[1] == "" {
			noRing = append(noRing, got[0])
		}
	}
	return reached, noRing
}

func (b *browser) audit(where string) {
	b.t.Helper()
	problems, err := eval[[]string](b, 10*time.Second, auditJS)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, p := range problems {
		b.t.Errorf("%s: %s", where, p)
	}
	want, err := eval[[]string](b, 5*time.Second, focusablesJS)
	if err != nil {
		b.t.Fatal(err)
	}
	reached, noRing := b.tabThrough(len(want) + 10)
	for _, w := range want {
		if !reached[w] {
			b.t.Errorf("%s: %s is not reached by Tab", where, w)
		}
	}
	if len(noRing) > 0 {
		b.t.Errorf("%s: no focus ring on %s", where, strings.Join(noRing, ", "))
	}
}

// Every page, in every state a person meets it: text of 4.5:1 contrast or
// more, every control named, reached by Tab, with a visible focus ring.
func TestBrowserPagesAreAccessible(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/")))
	b.audit("start page")
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/login?next=/join/standup")))
	b.audit("login page")
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/nowhere")))
	b.audit("404 page")
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann&prejoin=1")))
	b.waitState("prejoin", 20*time.Second)
	b.audit("pre-join screen")

	// In the call, as an admin, with someone else in it, a chat message and
	// the lobby empty.
	admin := mintPeer(t, accesstoken.Claims{Room: "standup", Admin: true, Name: "Ann"})
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=standup&token="+admin)))
	b.waitState("joined", 30*time.Second)
	ben := s.person(t, "127.0.0.2").mustJoin("standup", joinOpts{name: "Ben"})
	receive(ben)
	b.waitJS("Ben's tile", fmt.Sprintf(`!!document.querySelector('[data-tile=%q]')`, ben.ID()), 10*time.Second)
	b.say("hello")
	b.waitJS("the chat message", `!!document.querySelector('[data-chat]')`, 10*time.Second)
	b.audit("call, as an admin")
	// Who comes and goes is announced to screen readers: a polite live region.
	live := `[...document.querySelectorAll('[aria-live=polite]')].map((e) => e.textContent).join(' | ')`
	b.waitJS("Ben's arrival announced", live+`.includes('Ben joined')`, 5*time.Second)
	ben.Close()
	b.waitJS("Ben's leaving announced", live+`.includes('Ben left')`, 10*time.Second)
	// The chat was audited above; on the phone, the people list.
	b.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Click(chromedp.ID("tab-people")))
	b.audit("call, on a phone")
}
