package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// threeCameras is Chromium with three fake cameras besides its fake
// microphones and speakers. fake_device_1 is a depth camera (Y16) whose
// frames WebRTC does not encode, so the tests switch between fake_device_0
// and fake_device_2 (MJPEG), as a person switches between two webcams.
var threeCameras = chromedp.Flag("use-fake-device-for-media-stream", "device-count=3")

// sending is what b's page sends of kind now: the track's label and id
// ("" when nothing goes out), and the sender's encodings.
type sending struct {
	Label     string
	ID        string
	Encodings int
}

func (b *browser) sending(kind string) sending {
	b.t.Helper()
	s, err := eval[sending](b, 5*time.Second, fmt.Sprintf(`(() => {
		const s = window.roomgate.signal.pub.getSenders().find((x) => x.track?.kind === %q);
		return { Label: s?.track.label || '', ID: s?.track.id || '', Encodings: s ? s.getParameters().encodings.length : 0 };
	})()`, kind))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// press presses a printable key as a keyboard does: one keyDown that
// carries its text, so that a page that takes the key (preventDefault)
// gets no character typed, then keyUp. (chromedp.KeyEvent sends the
// character as an event of its own, which no keydown handler can stop.)
func (b *browser) press(key string) {
	b.t.Helper()
	b.do(5*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Text: key}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: key})
		return err
	}))
}

// choose picks, in the Device settings dialog's list, the option whose
// label has label in it, as a person does (the page's change handler runs).
func (b *browser) choose(list, label string) {
	b.t.Helper()
	if _, err := eval[bool](b, 5*time.Second, fmt.Sprintf(`(() => {
		const s = document.getElementById(%q);
		const o = [...s.options].find((o) => o.textContent.includes(%q));
		if (!o) throw new Error('no option ' + %[2]q + ' in ' + [...s.options].map((o) => o.textContent));
		s.value = o.value;
		s.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`, list, label)); err != nil {
		b.t.Fatalf("choosing %s in %s: %v", label, list, err)
	}
}

// sendsFrom waits until b's page sends kind from the device labelled label,
// and the encoder is fed by that track (media-source stats).
func (b *browser) sendsFrom(kind, label string) sending {
	b.t.Helper()
	if _, err := eval[bool](b, 15*time.Second, fmt.Sprintf(`(async () => {
		for (;;) {
			const s = window.roomgate.signal.pub.getSenders().find((x) => x.track?.kind === %q);
			if (s && s.track.label.includes(%q) && s.track.readyState === 'live') return true;
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`, kind, label)); err != nil {
		now, _ := eval[string](b, 5*time.Second, `window.roomgate.signal.pub.getSenders().map((s) => s.track ? s.track.kind + ':' + s.track.label + ':' + s.track.readyState : 'none').join(', ') +
			' | ' + document.getElementById('announcements').textContent`)
		b.t.Fatalf("%s is not sent from %s: %v (sent: %s)", kind, label, err, now)
	}
	id, _ := eval[string](b, 5*time.Second, fmt.Sprintf(`window.roomgate.signal.pub.getSenders().find((x) => x.track?.kind === %q).track.id`, kind))
	b.waitJS("the encoder fed by "+label, fmt.Sprintf(`(async () => {
		const stats = await window.roomgate.signal.pub.getStats();
		return [...stats.values()].some((s) => s.type === 'media-source' && s.trackIdentifier === %q);
	})()`, id), 15*time.Second)
	got := b.sending(kind)
	got.ID = id
	return got
}

// Camera, microphone and speaker changed in the call, without leaving:
// the other side keeps seeing and hearing, from the new devices, the
// camera keeps its three layers, and a muted microphone stays muted.
func TestBrowserDeviceSwitchMidCallReachesTheOtherSide(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	ann, ben := newBrowserWith(t, threeCameras), newBrowser(t)
	ann.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	ann.waitState("joined", 30*time.Second)
	relay := relayFrom(t, "127.0.0.2", s.port)
	ben.do(30*time.Second, chromedp.Navigate(siteURL(relay, "/join/standup?name=Ben")))
	ben.waitState("joined", 30*time.Second)
	annID := ann.selfID()
	ben.decodesVideoFrom(annID, 45*time.Second)
	first := ann.sendsFrom("video", "fake_device_0")
	if first.Encodings != 3 {
		t.Fatalf("Ann's camera goes out in %d layers; want 3", first.Encodings)
	}

	// The control is found by its name, and opens a dialog.
	if name, _ := eval[string](ann, 5*time.Second, `document.getElementById('devices').textContent`); name != "Device settings" {
		t.Fatalf("the device settings control is named %q", name)
	}
	ann.do(10*time.Second, chromedp.Click(chromedp.ID("devices")))
	ann.waitJS("the dialog open, the cameras listed, Flip offered", `document.getElementById('devices-dialog').open &&
		document.getElementById('device-camera').options.length === 3 && !document.getElementById('flip').hidden`, 10*time.Second)
	ann.screenshot("devices-dialog")

	// Another camera: the same sender, a new track, the layers kept; Ben
	// goes on seeing Ann, from that camera.
	ann.choose("device-camera", "fake_device_2")
	second := ann.sendsFrom("video", "fake_device_2")
	if second.ID == first.ID || second.Encodings != 3 {
		t.Fatalf("after the switch Ann sends %+v; before %+v", second, first)
	}
	framesAdvance(t, ben, annID, "Ann's second camera")
	tileSays(t, ben, annID, "video", "on")
	if n, _ := eval[int](ann, 5*time.Second, `window.roomgate.signal.pub.getTransceivers().length`); n != 2 {
		t.Fatalf("the switch renegotiated: %d transceivers", n)
	}
	if label, _ := eval[string](ann, 5*time.Second, `document.getElementById('self').srcObject.getVideoTracks()[0].label`); label != "fake_device_2" {
		t.Fatalf("Ann's own preview shows %q", label)
	}

	// Flip turns to the next camera (these cameras do not say which way
	// they face, as a phone's do): from the last, the first.
	ann.do(10*time.Second, chromedp.Click(chromedp.ID("flip")))
	ann.sendsFrom("video", "fake_device_0")
	framesAdvance(t, ben, annID, "Ann's camera, flipped back")

	// Another microphone, then one chosen while muted: muted it stays, and
	// unmuted it is the one chosen.
	ann.choose("device-microphone", "Fake Audio Input 2")
	ann.sendsFrom("audio", "Fake Audio Input 2")
	tileSays(t, ben, annID, "audio", "on")
	ann.do(10*time.Second, chromedp.KeyEvent(kb.Escape))
	ann.do(10*time.Second, chromedp.Click(chromedp.ID("mute")))
	tileSays(t, ben, annID, "audio", "off")
	ann.do(10*time.Second, chromedp.Click(chromedp.ID("devices")))
	ann.waitJS("the dialog open", `document.getElementById('devices-dialog').open`, 10*time.Second)
	ann.choose("device-microphone", "Fake Audio Input 1")
	ann.waitJS("the mute kept", `!window.roomgate.signal.pub.getSenders().some((s) => s.track?.kind === 'audio') &&
		document.getElementById('mute').textContent === 'Unmute'`, 10*time.Second)
	tileSays(t, ben, annID, "audio", "off")

	// The speaker, where the browser lets a page choose it: the others'
	// sound plays there.
	ann.choose("device-speaker", "Fake Audio Output 1")
	ann.waitJS("Ben's sound on the chosen speaker", `(() => {
		const chosen = document.getElementById('device-speaker').value;
		const v = [...document.querySelectorAll('#videos video:not(#self)')].filter((v) => v.srcObject);
		return chosen !== 'default' && v.length > 0 && v.every((v) => v.sinkId === chosen);
	})()`, 10*time.Second)

	// Closed, focus goes back to the control that opened it.
	ann.do(10*time.Second, chromedp.KeyEvent(kb.Escape))
	ann.waitJS("focus back on Device settings", `!document.getElementById('devices-dialog').open && document.activeElement.id === 'devices'`, 5*time.Second)
	ann.do(10*time.Second, chromedp.Click(chromedp.ID("mute")))
	ann.sendsFrom("audio", "Fake Audio Input 1")
	tileSays(t, ben, annID, "audio", "on")
}

// With one camera there is nothing to flip to.
func TestBrowserFlipNeedsTwoCameras(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Ann")))
	b.waitState("joined", 30*time.Second)
	b.do(10*time.Second, chromedp.Click(chromedp.ID("devices")))
	b.waitJS("the dialog filled", `document.getElementById('devices-dialog').open && document.getElementById('device-camera').options.length === 1`, 10*time.Second)
	if visible, _ := eval[bool](b, 5*time.Second, `!document.getElementById('flip').hidden`); visible {
		t.Fatal("Flip camera is offered with one camera")
	}
}

// The keys M, V and H do what Mute, Camera and Raise hand do, and the
// other side sees it; C opens the chat, where the same keys are letters;
// ? and the Keyboard shortcuts button (in Device settings) show the list,
// in a dialog that gives focus back when it closes.
func TestBrowserKeyboardShortcuts(t *testing.T) {
	t.Parallel()
	a, b, bID := annAndBen(t, "")
	a.decodesVideoFrom(bID, 45*time.Second)
	press := func(key string) { b.press(key) }

	press("m")
	tileSays(t, a, bID, "audio", "off")
	press("v")
	tileSays(t, a, bID, "video", "off")
	press("h")
	handSays(t, a, bID, true)
	press("m")
	tileSays(t, a, bID, "audio", "on")
	press("v")
	tileSays(t, a, bID, "video", "on")
	press("h")
	handSays(t, a, bID, false)

	// C puts the cursor in the chat's line; typing there types.
	press("c")
	b.waitJS("the chat open, its line focused", `!document.getElementById('chat-panel').hidden && document.activeElement.id === 'chat-text'`, 5*time.Second)
	for _, k := range []string{"m", "v", "h"} {
		press(k)
	}
	if v, _ := eval[string](b, 5*time.Second, `document.getElementById('chat-text').value`); v != "mvh" {
		t.Fatalf("typed mvh in the chat, the line holds %q", v)
	}
	if st, _ := eval[string](b, 5*time.Second, `['mute', 'camera', 'hand'].map((id) => document.getElementById(id).getAttribute('aria-pressed')).join()`); st != "false,false,false" {
		t.Fatalf("typing in the chat pressed buttons: %s", st)
	}
	tileSays(t, a, bID, "audio", "on")

	// ? opens the list.
	eval[bool](b, 5*time.Second, `(document.activeElement.blur(), true)`)
	press("?")
	b.waitJS("the shortcuts dialog", `document.getElementById('shortcuts-dialog').open`, 5*time.Second)
	list, _ := eval[string](b, 5*time.Second, `document.getElementById('shortcut-list').innerText`)
	for _, want := range []string{"M", "Mute", "V", "camera", "H", "hand", "C", "chat", "?"} {
		if !strings.Contains(list, want) {
			t.Fatalf("the shortcuts list lacks %q: %q", want, list)
		}
	}
	b.screenshot("shortcuts-dialog")
	// While it is open, the keys do nothing but type nowhere.
	press("m")
	if pressed, _ := eval[string](b, 5*time.Second, `document.getElementById('mute').getAttribute('aria-pressed')`); pressed != "false" {
		t.Fatal("M muted behind the open dialog")
	}
	b.do(5*time.Second, chromedp.KeyEvent(kb.Escape))
	b.waitJS("the dialog closed", `!document.getElementById('shortcuts-dialog').open`, 5*time.Second)

	// Its button, in Device settings, opens it too; closed, focus comes
	// back to Device settings.
	b.do(5*time.Second, chromedp.Click(chromedp.ID("devices")))
	b.waitJS("the device settings dialog", `document.getElementById('devices-dialog').open`, 5*time.Second)
	b.do(5*time.Second, chromedp.Click(chromedp.ID("shortcuts")))
	b.waitJS("the shortcuts dialog, from its button", `document.getElementById('shortcuts-dialog').open && !document.getElementById('devices-dialog').open`, 5*time.Second)
	b.do(5*time.Second, chromedp.KeyEvent(kb.Escape))
	b.waitJS("focus back on Device settings", `!document.getElementById('shortcuts-dialog').open && document.activeElement.id === 'devices'`, 5*time.Second)
}
