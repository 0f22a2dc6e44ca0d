package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkBrowserJoinToFirstFrame measures, in Chromium on loopback, the
// time from opening a room's link (the page joins by itself) to the first
// frame decoded of someone already there, who publishes from another
// Chromium. b.N joins; it reports the median and the 99th percentile:
//
//	go test ./e2e -run '^$' -bench BrowserJoinToFirstFrame -benchtime 20x
func BenchmarkBrowserJoinToFirstFrame(b *testing.B) {
	s := newMediaSite(b, "")
	pub, viewer := newBrowser(b), newBrowser(b)
	pub.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/bench?name=Pub")))
	pub.waitState("joined", 30*time.Second)
	var times []time.Duration
	b.ResetTimer()
	for i := range b.N {
		viewer.do(30*time.Second, chromedp.Navigate(siteURL(s.port, fmt.Sprintf("/join/bench?name=V%d", i))))
		ms, err := eval[float64](viewer, 30*time.Second, `(async () => {
			for (;;) {
				const v = document.querySelector('.tile:not(.self) video');
				if (v && v.getVideoPlaybackQuality().totalVideoFrames > 0) return performance.now();
				await new Promise((r) => setTimeout(r, 5));
			}
		})()`)
		if err != nil {
			b.Fatalf("join %d: no frame: %v", i, err)
		}
		times = append(times, time.Duration(ms*float64(time.Millisecond)))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(times[min(len(times)-1, len(times)*99/100)].Milliseconds()), "p99-ms")
}
