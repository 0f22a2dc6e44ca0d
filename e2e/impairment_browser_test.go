package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A real browser behind the constrained link: the same two namespaces as
// TestConstrainedSubscriberSettlesOnTheLowLayer, a Chromium publishing its
// camera on the server's side, and a Chromium watching from behind the
// link. When the link narrows to linkRate, the watcher's video drops to
// the quarter-size layer and goes on playing; narrower than the lowest
// layer, the video pauses (the page says so); when the link widens, it
// plays again and the size its tile needs comes back. The publisher sends
// no audio: with its video paused nothing else goes to the watcher, and
// only padding tells the server's estimator that the link widened.
func TestChromiumBehindANarrowLinkGetsTheLowLayer(t *testing.T) {
	srv, sub := linkedNamespaces(t)
	runServerSide(t, srv, sub, "^TestChromiumLinkServerSide$")
}

// TestChromiumLinkServerSide is that test's part in the server's namespace.
func TestChromiumLinkServerSide(t *testing.T) {
	subNS := os.Getenv(envNetns)
	if subNS == "" {
		t.Skip("run by TestChromiumBehindANarrowLinkGetsTheLowLayer")
	}
	s := newMediaSiteConfig(t, siteConfig{anyHost: true, iceIPs: "127.0.0.1/32 " + serverAddr + "/32"})
	pub := newBrowser(t)
	pub.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/slowc?name=Pub&audio=0")))
	pub.waitState("joined", 30*time.Second)

	w := &frameWatch{}
	go w.read(startBehindLink(t, subNS, "^TestChromiumLinkWatcher$", s.port, "slowc"))

	// The watcher's one tile (about 950 px wide) gets the half-size layer
	// or the full one; the publisher's own estimate decides when it sends
	// them at all, which on a busy machine can take a while.
	large := func(width int) bool { return width >= 640 }
	if !w.holds(large, 2*time.Second, 90*time.Second) {
		t.Fatalf("the watcher behind the link never showed its tile's size: %s", w.tail())
	}
	narrowLink(t)
	narrowed := time.Now()
	if !w.holds(func(width int) bool { return width > 0 && width <= 320 }, 3*time.Second, 30*time.Second) {
		t.Fatalf("behind %s, the watcher's video did not drop to the quarter size: %s", linkRate, w.tail())
	}
	settled := w.since(func(width int) bool { return width > 0 && width <= 320 })
	t.Logf("impairment.go: Chromium behind %s shows the quarter-size layer %v after the link narrowed", linkRate, settled.Sub(narrowed).Round(100*time.Millisecond))
	time.Sleep(10 * time.Second)
	frames, stall := w.playing(settled, time.Now())
	t.Logf("impairment.go: Chromium on the low layer: %d frames in %v, longest still %v", frames, time.Since(settled).Round(time.Second), stall.Round(10*time.Millisecond))
	// Probes for the larger layer pad first, so one the link cannot carry
	// costs the picture little (0 - 1 s still on a quiet machine). Under
	// the race detector the publisher's keyframes, asked for after each
	// loss, can make even the low layer lose a third of its packets for
	// seconds: the video is paused then (the page says so) until a probe
	// finds the link carries it again (still 3.3 s; 9.6 s once in CI).
	// What must hold is that the video plays on.
	if frames < 50 || stall > 10*time.Second {
		t.Errorf("behind the narrow link Chromium decoded %d frames, with a still of %v", frames, stall)
	}

	// Narrower than the lowest layer: the video pauses, and nothing at all
	// goes to the watcher but the server's padding.
	tc(t, "qdisc", "change", "dev", serverDev, "root", "tbf", "rate", "40kbit", "burst", "4kb", "latency", "200ms")
	if !eventually(30*time.Second, func() bool { return w.last().paused }) {
		t.Fatalf("behind 40 kbit/s the watcher's video was not paused: %s", w.tail())
	}
	time.Sleep(5 * time.Second)
	widenLink(t)
	widened := time.Now()
	if !eventually(30*time.Second, func() bool { s := w.last(); return !s.paused && s.frames > w.framesAt(widened)+30 }) {
		t.Fatalf("the paused video did not play again after the link widened: %s", w.tail())
	}
	t.Logf("impairment.go: Chromium's paused video plays again %v after the link widened (its first frame; 30 frames %v after)",
		w.firstFrameAfter(widened).Sub(widened).Round(100*time.Millisecond), time.Since(widened).Round(100*time.Millisecond))
	if !w.holds(large, 2*time.Second, 60*time.Second) {
		t.Fatalf("the watcher's tile size did not come back after the link widened: %s", w.tail())
	}
	t.Logf("impairment.go: Chromium back on its tile's size %v after the link widened", w.since(large).Sub(widened).Round(100*time.Millisecond))
}

// TestChromiumLinkWatcher is the Chromium behind the link: it watches the
// room and prints, four times a second, the width of the video it shows
// and the frames it decoded. The page is not on a secure origin (a bare
// address), so it asks for no camera: it watches, as such a page can.
func TestChromiumLinkWatcher(t *testing.T) {
	site := os.Getenv(envSubSite)
	if site == "" {
		t.Skip("run by TestChromiumLinkServerSide")
	}
	port, room, _ := strings.Cut(site, " ")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(fmt.Sprintf("http://%s:%s/join/%s?name=Cy&audio=0&video=0&prejoin=0", serverAddr, port, room)))
	b.waitState("joined", 30*time.Second)
	out := bufio.NewWriter(os.Stdout)
	for {
		f, err := eval[[]int](b, 5*time.Second, `(() => {
			const v = [...document.querySelectorAll('.tile[data-tile] video')].find((v) => v.srcObject);
			const paused = v?.closest('.tile').dataset.paused === '1' ? 1 : 0;
			return v ? [v.videoWidth, v.getVideoPlaybackQuality().totalVideoFrames, paused] : [0, 0, 0];
		})()`)
		if err != nil {
			if context.Cause(b.ctx) != nil {
				return
			}
			continue
		}
		fmt.Fprintf(out, "f %d %d %d %d\n", time.Now().UnixMicro(), f[0], f[1], f[2])
		out.Flush()
		time.Sleep(250 * time.Millisecond)
	}
}

// frameWatch is what the watcher behind the link reported.
type frameWatch struct {
	mu      sync.Mutex
	samples []frameSample
}

type frameSample struct {
	at            time.Time
	width, frames int
	paused        bool // the page shows the video paused for want of bandwidth
}

func (w *frameWatch) read(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var at int64
		var s frameSample
		var paused int
		if n, _ := fmt.Sscanf(sc.Text(), "f %d %d %d %d", &at, &s.width, &s.frames, &paused); n != 4 {
			continue
		}
		s.at, s.paused = time.UnixMicro(at), paused == 1
		w.mu.Lock()
		w.samples = append(w.samples, s)
		w.mu.Unlock()
	}
}

// last is the latest sample.
func (w *frameWatch) last() frameSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return frameSample{}
	}
	return w.samples[len(w.samples)-1]
}

// framesAt is the count of frames decoded by t.
func (w *frameWatch) framesAt(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, s := range w.samples {
		if s.at.After(t) {
			break
		}
		n = s.frames
	}
	return n
}

// firstFrameAfter is when the first sample after t counted a frame more
// than t's (a quarter of a second late at most).
func (w *frameWatch) firstFrameAfter(t time.Time) time.Time {
	base := w.framesAt(t)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.samples {
		if s.at.After(t) && s.frames > base && !s.paused {
			return s.at
		}
	}
	return time.Time{}
}

// since is when the latest run of samples that all pass ok began.
func (w *frameWatch) since(ok func(width int) bool) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := len(w.samples)
	for i > 0 && ok(w.samples[i-1].width) {
		i--
	}
	if i == len(w.samples) {
		return time.Time{}
	}
	return w.samples[i].at
}

// holds waits until the samples have passed ok for hold, within d.
func (w *frameWatch) holds(ok func(width int) bool, hold, d time.Duration) bool {
	return eventually(d, func() bool {
		s := w.since(ok)
		return !s.IsZero() && time.Since(s) >= hold
	})
}

// playing counts the frames decoded between from and to, and the longest
// time the count stood still.
func (w *frameWatch) playing(from, to time.Time) (frames int, still time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first, last *frameSample
	var changed time.Time
	for i := range w.samples {
		s := &w.samples[i]
		if s.at.Before(from) || s.at.After(to) {
			continue
		}
		if first == nil {
			first, changed = s, s.at
		}
		if last != nil && s.frames != last.frames {
			changed = s.at
		}
		still = max(still, s.at.Sub(changed))
		last = s
	}
	if first == nil {
		return 0, to.Sub(from)
	}
	return last.frames - first.frames, still
}

func (w *frameWatch) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, s := range w.samples[max(0, len(w.samples)-12):] {
		fmt.Fprintf(&b, "%d/%d ", s.width, s.frames)
	}
	return b.String()
}
