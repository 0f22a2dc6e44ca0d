package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// say writes text in the chat, opening its tab first. The line is filled
// at once: typing it key by key takes long on a busy machine.
func (b *browser) say(text string) {
	b.t.Helper()
	b.do(30*time.Second,
		chromedp.Click(chromedp.ID("tab-chat")),
		chromedp.SetValue(chromedp.ID("chat-text"), text),
		chromedp.Click(chromedp.CSS("#chat-form button[type=submit]")),
	)
}

// The side panel's tabs, People and Chat, chosen by a click or the arrow
// keys; at 1366 × 657 (a common laptop) the chat's line to write and its
// Send button stay in sight above the controls however long the chat, and
// the page itself does not scroll.
func TestBrowserSidePanelTabsKeepTheChatInSight(t *testing.T) {
	t.Parallel()
	a, b, _ := annAndBen(t, "")
	a.do(10*time.Second, chromedp.EmulateViewport(1366, 657))
	a.waitJS("People is the tab shown first", `document.getElementById('tab-people').getAttribute('aria-selected') === 'true'
		&& !document.getElementById('people-panel').hidden && document.getElementById('chat-panel').hidden
		&& document.querySelectorAll('#people-panel [data-person]').length === 2`, 10*time.Second)
	a.screenshot("panel-people-1366x657")

	// A message while People shows is counted on the Chat tab.
	b.say("hello Ann")
	a.waitJS("the Chat tab counts the new message", `document.getElementById('chat-unread').textContent === '1 new'`, 10*time.Second)
	a.do(5*time.Second, chromedp.Focus(chromedp.ID("tab-people")), chromedp.KeyEvent(kb.ArrowRight))
	a.waitJS("the arrow key chooses Chat", `document.activeElement.id === 'tab-chat'
		&& document.getElementById('tab-chat').getAttribute('aria-selected') === 'true' && document.getElementById('tab-chat').tabIndex === 0
		&& document.getElementById('tab-people').tabIndex === -1
		&& document.getElementById('people-panel').hidden && !document.getElementById('chat-panel').hidden
		&& document.getElementById('chat-unread').hidden`, 5*time.Second)

	inSight := func(when string) {
		t.Helper()
		got, err := eval[string](a, 5*time.Second, `(() => {
			const bar = document.querySelector('.controls').getBoundingClientRect();
			const boxes = [document.getElementById('chat-text'), document.querySelector('#chat-form button')].map((e) => e.getBoundingClientRect());
			const inside = boxes.every((r) => r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= bar.top && r.right <= innerWidth);
			const scrolls = document.documentElement.scrollHeight > innerHeight || document.documentElement.scrollWidth > innerWidth;
			return inside && !scrolls ? 'in sight' : JSON.stringify({ boxes, controlsTop: bar.top, innerWidth, innerHeight, scrolls });
		})()`)
		if err != nil || got != "in sight" {
			a.screenshot("panel-chat-failed")
			t.Fatalf("%s, at 1366 × 657 the chat's line is not in sight: %s (%v)", when, got, err)
		}
	}
	inSight("with one message")
	for range 5 { // the server takes five at once
		a.say("a rather long message, so that the chat fills its panel and has to scroll on its own")
	}
	a.waitJS("six messages", `document.querySelectorAll('[data-chat]').length === 6`, 15*time.Second)
	inSight("with six long messages")
	a.screenshot("panel-chat-1366x657")

	a.do(5*time.Second, chromedp.Focus(chromedp.ID("tab-chat")), chromedp.KeyEvent(kb.ArrowLeft))
	a.waitJS("the arrow key goes back to People", `document.activeElement.id === 'tab-people' && !document.getElementById('people-panel').hidden
		&& document.getElementById('chat-panel').hidden`, 5*time.Second)
}

// Each chat message shows the local time it was written; an http or https
// address in it is a link that opens in a new tab without an opener or a
// referrer, and anything else (javascript:) stays text.
func TestBrowserChatShowsTimesAndSafeLinks(t *testing.T) {
	t.Parallel()
	a, b, _ := annAndBen(t, "")
	a.do(10*time.Second, chromedp.EmulateViewport(1280, 800))
	const text = `see https://example.com/a?b=1, not javascript:alert(1) nor JavaScript://x%0aalert(1)`
	b.say(text)
	a.do(10*time.Second, chromedp.Click(chromedp.ID("tab-chat")))
	got, err := eval[string](a, 15*time.Second, `(async () => {
		while (!document.querySelector('[data-chat]')) await new Promise((r) => setTimeout(r, 100));
		const m = document.querySelector('[data-chat]');
		const time = m.parentElement.querySelector('time');
		const at = new Date(time.dateTime);
		return JSON.stringify({
			text: m.textContent,
			links: [...m.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.target, a.rel]),
			others: m.querySelectorAll(':not(a)').length,
			time: time.textContent,
			local: at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
			age: Date.now() - at.getTime(),
		});
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Text, Time, Local string
		Links             [][]string
		Others            int
		Age               float64
	}
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatal(err)
	}
	if m.Text != text || m.Others != 0 {
		t.Errorf("the message reads %q with %d other elements; want %q as text", m.Text, m.Others, text)
	}
	if len(m.Links) != 1 || m.Links[0][0] != "https://example.com/a?b=1" || m.Links[0][1] != "_blank" || m.Links[0][2] != "noopener noreferrer" {
		t.Errorf("links %q; want the https address only, _blank, noopener noreferrer", m.Links)
	}
	if m.Time == "" || m.Time != m.Local || m.Age < -5000 || m.Age > 60000 {
		t.Errorf("the message's time reads %q (local %q, %v ms old)", m.Time, m.Local, m.Age)
	}
	a.screenshot("chat-links-1280x800")
}
