package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// gateText is the title and sentence the page shows instead of the call.
func (b *browser) gateText() string {
	s, _ := eval[string](b, 5*time.Second, `document.getElementById('gate-title').textContent + ' / ' + document.getElementById('gate-text').textContent`)
	return s
}

// When the gateway cuts a call (a revoked token, a deleted room, a login
// ended in another tab), each page says why and does not try to come back.
func TestBrowserCutsSayWhy(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	admin := s.person(t, "127.0.0.1")
	if a := admin.apiCall("POST", "/api/v1/room", `{"roomName":"board"}`); a.status != http.StatusCreated {
		t.Fatalf("making a room: %d %s", a.status, a.body)
	}
	tok := admin.mintToken(`{"roomName":"standup","name":"Tia"}`)
	tia, dan, alice := newBrowser(t), newBrowser(t), newBrowser(t)
	tia.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?room=standup&token="+tok)))
	dan.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join/board?name=Dan")))
	alice.do(30*time.Second, chromedp.Navigate(siteURL(s.port, "/join?"+url.Values{"room": {"retro"}, "name": {"Alice"},
		"username": {"alice"}, "password": {password}}.Encode())))
	for _, b := range []*browser{tia, dan, alice} {
		b.waitState("joined", 30*time.Second)
		b.recordStates()
	}
	aliceToken, err := eval[string](alice, 5*time.Second, `sessionStorage.getItem('peer_token')`)
	if err != nil || aliceToken == "" {
		t.Fatalf("Alice's token: %q %v", aliceToken, err)
	}

	if a := admin.api("/api/v1/token/revoke", `{"token":"`+tok+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if a := admin.apiCall("DELETE", "/api/v1/room/board", ""); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	// Alice logs out in another tab: her session ends, this tab's call too.
	if st := admin.logout(aliceToken); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}

	for _, c := range []struct {
		who   string
		b     *browser
		state string
		says  string
	}{
		{"Tia (revoked)", tia, "denied", "access was withdrawn"},
		{"Dan (room deleted)", dan, "ended", "meeting has ended"},
		{"Alice (logged out elsewhere)", alice, "login", "login has ended"},
	} {
		c.b.waitState(c.state, 15*time.Second)
		if said := c.b.gateText(); !strings.Contains(said, c.says) {
			t.Errorf("%s's page says %q; want %q", c.who, said, c.says)
		}
		c.b.screenshot("cut-" + c.state)
	}
	// None of them tries to come back, now or a little later.
	time.Sleep(2 * time.Second)
	for name, b := range map[string]*browser{"Tia": tia, "Dan": dan, "Alice": alice} {
		if states := b.states(); slices.Contains(states, "reconnecting") || slices.Contains(states, "error") {
			t.Errorf("%s's page went through %v", name, states)
		}
	}
	for name, b := range map[string]*browser{"Tia": tia, "Alice": alice} {
		if stored, _ := eval[string](b, 5*time.Second, `sessionStorage.getItem('peer_token') || ''`); stored != "" {
			t.Errorf("%s's dead token stays in the tab", name)
		}
	}
	// Alice logs in again from the same page and is back in.
	alice.submitLogin()
	alice.waitState("joined", 30*time.Second)
}
