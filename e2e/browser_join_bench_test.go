package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// joinPhases are the moments of one join, in ms after Join was pressed.
type joinPhases struct {
	Welcome, SubOffer, SubConnected, Track, Frame float64
}

// BenchmarkBrowserJoinToFirstFrame measures, in Chromium on loopback, the
// time from pressing Join on the pre-join screen to the first frame
// decoded of someone already there, who publishes from another Chromium.
// b.N joins; it reports the median and the 99th percentile, and the median
// of each step on the way (the welcome, the server's offer of what to
// receive, that connection up, the first track, the first frame):
//
//	go test ./e2e -run '^$' -bench BrowserJoinToFirstFrame -benchtime 20x
func BenchmarkBrowserJoinToFirstFrame(b *testing.B) {
	s := newMediaSite(b, "")
	pub, viewer := newBrowser(b), newBrowser(b)
	pub.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/bench?name=Pub")))
	pub.waitState("joined", 30*time.Second)
	var runs []joinPhases
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		viewer.do(30*time.Second, chromedp.Navigate(siteURL(s.port, fmt.Sprintf("/join/bench?name=V%d&prejoin=1", i))))
		viewer.waitState("prejoin", 30*time.Second)
		viewer.waitJS("the preview", `document.getElementById('preview').videoWidth > 0`, 30*time.Second)
		b.StartTimer()
		p, err := eval[joinPhases](viewer, 30*time.Second, `(async () => {
			const t = {};
			const at = (k) => { t[k] ??= performance.now() - t0; };
			// Follow the call's connection as the page makes it.
			const watch = setInterval(() => {
				const s = window.roomgate.signal;
				if (!s || s.__watched) return;
				s.__watched = true;
				s.addEventListener('welcome', () => at('Welcome'));
				s.addEventListener('track', () => at('Track'));
				const hook = () => {
					if (!s.sub) return setTimeout(hook, 1);
					s.sub.addEventListener('signalingstatechange', () => s.sub.signalingState === 'have-remote-offer' && at('SubOffer'));
					s.sub.addEventListener('connectionstatechange', () => s.sub.connectionState === 'connected' && at('SubConnected'));
				};
				hook();
			}, 1);
			const t0 = performance.now();
			document.getElementById('prejoin-join').click();
			for (;;) {
				const v = document.querySelector('.tile:not(.self) video');
				if (v && v.getVideoPlaybackQuality().totalVideoFrames > 0) { at('Frame'); break; }
				await new Promise((r) => setTimeout(r, 2));
			}
			clearInterval(watch);
			return t;
		})()`)
		if err != nil {
			b.Fatalf("join %d: no frame: %v", i, err)
		}
		runs = append(runs, p)
		if p.Frame > 400 {
			b.Logf("join %d, slow: %+v", i, p)
		}
	}
	b.StopTimer()
	median := func(f func(joinPhases) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	frames := make([]float64, len(runs))
	for i, r := range runs {
		frames[i] = r.Frame
	}
	slices.Sort(frames)
	b.ReportMetric(frames[len(frames)/2], "p50-ms")
	b.ReportMetric(frames[min(len(frames)-1, len(frames)*99/100)], "p99-ms")
	b.ReportMetric(median(func(r joinPhases) float64 { return r.Welcome }), "welcome-ms")
	b.ReportMetric(median(func(r joinPhases) float64 { return r.SubOffer }), "sub-offer-ms")
	b.ReportMetric(median(func(r joinPhases) float64 { return r.SubConnected }), "sub-connected-ms")
	b.ReportMetric(median(func(r joinPhases) float64 { return r.Track }), "track-ms")
}
