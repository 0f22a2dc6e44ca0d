package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

// Issue 26, item 7: no dead ends.

// On a host_protected site the start page tells a guest to use their
// host's link, instead of a form (or a login) that would only refuse them.
func TestBrowserHostProtectedStartPageSendsGuestsToTheHostsLink(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "host_protected")
	b := newBrowser(t)
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/")))
	// SPEC: the start page is for logged-in hosts; others go to /login,
	// which tells a guest what to do instead of only asking for a login.
	b.waitState("login", 20*time.Second)
	b.waitJS("the note for guests", `!document.getElementById('guest-note').hidden`, 20*time.Second)
	if said := b.text("guest-note"); !strings.Contains(said, "open the link your host sent you") {
		t.Fatalf("the start page tells a guest %q", said)
	}
	b.screenshot("start-host-protected-guest")
	// A host logs in there and gets the form.
	b.submitLogin()
	b.waitState("home", 20*time.Second)
	b.waitJS("the form for the host", `!document.getElementById('start').hidden`, 20*time.Second)
	// A login page opened for a room is not the start page's: no note.
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/login?next=%2Fjoin%2Fstandup")))
	b.waitState("login", 20*time.Second)
	if b.visible("guest-note") {
		t.Fatal("the login page for a room shows the start page's note")
	}
}

// On a user_auth site, a host's Copy link is an invitation: a guest in
// another browser, with no login, enters with it; it opens as many joins
// as invitation_uses says, and the next is refused in words.
func TestBrowserHostsCopyLinkInvitesAGuest(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "user_auth\n\t\tinvitation_uses 1")
	hostB, guestB := newBrowser(t), newBrowser(t)
	hostB.openLogin(s.port, "/join/standup?name=Alice")
	hostB.submitLogin()
	hostB.waitState("joined", 30*time.Second)
	origin := fmt.Sprintf("http://localhost:%d", s.port)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(hostB.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin}); err != nil {
			t.Fatal(err)
		}
	}
	hostB.do(10*time.Second, chromedp.Click(chromedp.ID("copy")))
	link, err := eval[string](hostB, 10*time.Second, `(async () => {
		for (;;) {
			const text = await navigator.clipboard.readText().catch(() => '');
			if (text.includes('#')) return text;
			await new Promise((r) => setTimeout(r, 100));
		}
	})()`)
	if err != nil || !strings.HasPrefix(link, origin+"/join/standup#peer_token=") {
		t.Fatalf("Copy link gave %q (%v)", link, err)
	}
	tok := link[strings.Index(link, "#peer_token=")+len("#peer_token="):]
	c, err := accesstoken.NewIssuer(accesstoken.Secret(testSecret), nil).Verify(tok)
	if err != nil || c.Room != "standup" || c.Admin || c.MaxUses != 1 || time.Until(c.ExpiresAt.Time) < 23*time.Hour {
		t.Fatalf("the invitation: %+v (%v)", c, err)
	}

	// The guest, from another address, with no login, opens it.
	relay := relayFrom(t, "127.0.0.2", s.port)
	guestLink := fmt.Sprintf("http://localhost:%d/join/standup?name=Gwen&prejoin=0#peer_token=%s", relay, tok)
	guestB.do(30*time.Second, chromedp.Navigate(guestLink))
	guestB.waitState("joined", 30*time.Second)
	gwen := guestB.selfID()
	hostB.waitRole("Gwen", gwen, "guest")
	if h := strings.Join(guestB.history(), " "); strings.Contains(h, tok) {
		t.Fatal("the invitation stays in the guest's history")
	}

	// Used once, as invitation_uses 1 says: the next use is refused, said so.
	guestB.do(30*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(guestLink))
	guestB.waitState("denied", 30*time.Second)
	if title, text := guestB.text("gate-title"), guestB.gateText(); !strings.Contains(title, "used up") || !strings.Contains(text, "Ask the host for a new one") {
		t.Fatalf("a used-up invitation says %q / %q", title, text)
	}
	guestB.screenshot("invitation-used-up")
}

// A link whose token is not valid or has expired says so in words; a room
// name that cannot be says so under a heading; and the small pages (start,
// login, the lobby, after leaving) fit a laptop's and a phone's window
// without a scrollbar.
func TestBrowserBadLinksSaySoAndSmallPagesFit(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	b := newBrowser(t)
	past := time.Now().Add(-2 * time.Hour)
	expired, _, err := accesstoken.NewIssuer(accesstoken.Secret(testSecret), func() time.Time { return past }).Mint(accesstoken.Claims{
		Role: accesstoken.RolePeer, Room: "standup", RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(past.Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]string{
		"not.a.token": "it is not a valid invitation",
		expired:       "its invitation has expired",
	} {
		// On an open site the person still gets in, as a guest, and is told.
		b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=standup&name=Tia&token="+token)))
		b.waitState("joined", 30*time.Second)
		b.waitJS("the notice about the link", fmt.Sprintf(`document.getElementById('announcements').textContent.includes(%q)`, want), 10*time.Second)
	}
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/no.such%20room")))
	if h, _ := eval[string](b, 5*time.Second, `document.querySelector('h1')?.textContent || ''`); h != "No such room" {
		t.Fatalf("an invalid room name's heading: %q", h)
	}

	owner := s.person(t, "127.0.0.1")
	if a := owner.apiCall("POST", "/api/v1/room", `{"roomName":"private","privacy":"private","enableRequestToJoin":true}`); a.status != 201 {
		t.Fatalf("creating the room: %d %s", a.status, a.body)
	}
	fits := func(page string) {
		t.Helper()
		for _, size := range [][2]int64{{1366, 657}, {390, 844}} {
			b.do(10*time.Second, chromedp.EmulateViewport(size[0], size[1]))
			fit, _ := eval[bool](b, 5*time.Second, `new Promise((r) => requestAnimationFrame(() => r(document.scrollingElement.scrollHeight <= innerHeight && document.scrollingElement.scrollWidth <= innerWidth)))`)
			if !fit {
				h, _ := eval[string](b, 5*time.Second, `document.scrollingElement.scrollHeight + 'x' + document.scrollingElement.scrollWidth + ' in ' + innerHeight + 'x' + innerWidth`)
				t.Errorf("the %s page scrolls at %d×%d: %s", page, size[0], size[1], h)
				b.screenshot(fmt.Sprintf("scrolls-%s-%d", page, size[0]))
			}
		}
	}
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/")))
	b.waitState("home", 10*time.Second)
	fits("start")
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/login?next=/join/standup")))
	b.waitState("login", 10*time.Second)
	fits("login")
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/private?name=Tia")))
	b.waitState("lobby", 30*time.Second)
	fits("lobby")
	b.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/standup?name=Tia")))
	b.waitState("joined", 30*time.Second)
	b.do(10*time.Second, chromedp.Click(chromedp.ID("leave")))
	b.waitState("ended", 10*time.Second)
	fits("ended")
}
