package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium with fake camera and microphone.
type browser struct {
	t   testing.TB
	ctx context.Context
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	return newBrowserWith(t)
}

// newBrowserWith is newBrowser with more Chromium options.
func newBrowserWith(t testing.TB, more ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser tests need Debian's chromium (.ci/run installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("auto-select-desktop-capture-source", "Entire screen"),
		chromedp.WindowSize(1280, 800),
	)
	opts = append(opts, more...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// do runs steps within d.
func (b *browser) do(d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (page state %q)", err, b.state())
	}
}

// eval evaluates a JavaScript expression, awaiting it if it is a promise.
func eval[T any](b *browser, d time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

func (b *browser) state() string {
	s, _ := eval[string](b, 2*time.Second, `document.body ? document.body.dataset.state : ""`)
	return s
}

// waitState waits, on the page's own mutations, until <body data-state> is state.
func (b *browser) waitState(state string, d time.Duration) {
	b.t.Helper()
	js := fmt.Sprintf(`new Promise((resolve) => {
		const ok = () => document.body && document.body.dataset.state === %q;
		if (ok()) return resolve(true);
		new MutationObserver(() => ok() && resolve(true)).observe(document.documentElement, {attributes: true, subtree: true});
	})`, state)
	// A navigation destroys the page the wait ran in; wait again in the next.
	deadline := time.Now().Add(d)
	for {
		_, err := eval[bool](b, time.Until(deadline), js)
		if err == nil {
			return
		}
		if time.Until(deadline) < 100*time.Millisecond {
			b.t.Fatalf("page state is %q, waited for %q: %v", b.state(), state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// decodesVideoFrom waits until the page decoded video frames received from peer.
func (b *browser) decodesVideoFrom(peer string, d time.Duration) {
	b.t.Helper()
	js := fmt.Sprintf(`(async () => {
		for (;;) {
			const v = document.querySelector('video[data-peer=%q]');
			const sub = window.roomgate && window.roomgate.signal && window.roomgate.signal.sub;
			if (v && sub) {
				const stats = await sub.getStats();
				for (const s of stats.values()) {
					if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0) return s.framesDecoded;
				}
			}
			await new Promise((r) => setTimeout(r, 200));
		}
	})()`, peer)
	if _, err := eval[float64](b, d, js); err != nil {
		b.t.Fatalf("no video frames decoded from %s: %v (state %q)", peer, err, b.state())
	}
}

// selfID is the page's own peer id in the room.
func (b *browser) selfID() string {
	b.t.Helper()
	id, err := eval[string](b, 20*time.Second, `(async () => {
		for (;;) {
			const li = [...document.querySelectorAll('#participants li')].find((l) => l.textContent.includes('(you)'));
			if (li) return li.dataset.peer;
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`)
	if err != nil {
		b.t.Fatalf("own peer id: %v", err)
	}
	return id
}

// screenshot writes a PNG of the page where a person can look at it later.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		return chromedp.Run(ctx, chromedp.FullScreenshot(100))
	}()
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join(os.TempDir(), "roomgate-screenshots")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Error(err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// history returns the URLs in the tab's navigation history.
func (b *browser) history() []string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	var urls []string
	_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.GetNavigationHistory, cdp.Empty{})
		for _, e := range res.Entries {
			urls = append(urls, e.URL)
		}
		return err
	}))
	if err != nil {
		b.t.Fatalf("navigation history: %v", err)
	}
	return urls
}

// relayFrom accepts connections on 127.0.0.1 and carries them to the site
// from the address from, so that a browser appears to come from there.
func relayFrom(t testing.TB, from string, port int) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// siteURL is the address of path on the site at port. A room's page there
// skips the pre-join screen, as a link with prejoin=0 does, unless the path
// says prejoin=1: only the tests of that screen go through it.
func siteURL(port int, path string) string {
	return fmt.Sprintf("http://localhost:%d%s", port, skipPrejoin(path))
}

func skipPrejoin(path string) string {
	if !strings.HasPrefix(path, "/join") || strings.Contains(path, "prejoin=") {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&prejoin=0"
	}
	return path + "?prejoin=0"
}
