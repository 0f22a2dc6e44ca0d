package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// Notices are toasts that do not pile up: the same one five times shows
// once, many different ones show a few at a time, the live region keeps a
// few lines, and they go by themselves.
func TestBrowserNoticesDoNotPileUp(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(siteURL(s.port, "/join/busy?name=Ann&audio=0&video=0")))
	b.waitState("joined", 30*time.Second)
	toasts := `[...document.querySelectorAll('#notices .toast')].map((t) => t.textContent)`

	sam := s.person(t, "127.0.0.2").mustJoin("busy", joinOpts{name: "Sam"})
	receive(sam)
	b.waitJS("Sam's arrival", toasts+`.includes('Sam joined')`, 10*time.Second)
	for range 5 {
		for _, up := range []bool{true, false} {
			if err := sam.Send(signal.Message{Type: signal.TypeState, Hand: &up}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	b.waitJS("Sam's hand, shown", toasts+`.includes('Sam raised a hand')`, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n, _ := eval[int](b, 5*time.Second, toasts+`.filter((t) => t === 'Sam raised a hand').length`); n != 1 {
		t.Fatalf("Sam's hand, raised five times, shows as %d toasts", n)
	}

	for i := 1; i <= 6; i++ {
		receive(s.person(t, fmt.Sprintf("127.0.3.%d", i)).mustJoin("busy", joinOpts{name: fmt.Sprintf("Person %d", i)}))
	}
	b.waitJS("the last arrival", toasts+`.includes('Person 6 joined')`, 20*time.Second)
	got, _ := eval[[]string](b, 5*time.Second, toasts)
	lines, _ := eval[int](b, 5*time.Second, `document.getElementById('announcements').children.length`)
	if len(got) > 3 || lines > 5 {
		t.Fatalf("after six arrivals: toasts %q, %d lines in the live region; want at most 3 and 5", got, lines)
	}
	b.screenshot("notices-1280x800")
	b.waitJS("the toasts go by themselves", `document.querySelectorAll('#notices .toast').length === 0`, 15*time.Second)
	if live, _ := eval[string](b, 5*time.Second, `document.querySelector('[role=log][aria-live=polite]').textContent`); live == "" {
		t.Fatal("the live region is empty")
	}
}
