package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/internal/testidp"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// On a user_auth site, someone with no link opens a room, is asked to log
// in, logs in on the provider's own form and is in the call under the
// provider's name for her, as the host sees it; the token never stays in
// the tab's history.
func TestBrowserParticipantLogsInThroughTheProviderToJoin(t *testing.T) {
	t.Parallel()
	idp := testidp.Start(t, 0, idpUsers...)
	words := strings.Replace(idpWords(idp.Issuer), "label", "participants group attendees\n\t\t\tlabel", 1)
	s := newIDPSiteWith(t, idp, words, "user_auth")
	c := newIDPClient(t, s.port, "127.0.0.1")
	c.waitDiscovered(30 * time.Second)
	hc := s.person(t, "127.0.0.1").mustJoin("standup", joinOpts{token: c.mustLogIn("carol", "carol-Pa55")})

	grace := newBrowser(t)
	grace.do(30*time.Second, chromedp.Navigate(siteURL(s.port, skipPrejoin("/join/standup"))))
	grace.waitState("login", 30*time.Second)
	if !grace.visible("gate-idp") {
		t.Fatal("the room's login does not offer the provider")
	}
	grace.signInAtProvider("gate-idp", "grace", "grace-Pa55")
	grace.waitState("joined", 45*time.Second)
	if m := nextEvent(hc, signal.TypePeerJoined, 20*time.Second); m == nil || m.Peer == nil || m.Peer.Name != "Grace Hopper" {
		t.Fatalf("the host saw %+v join", m)
	}
	if strings.Contains(strings.Join(grace.history(), " "), "peer_token") {
		t.Error("the participant's token is in the tab's history")
	}
	grace.screenshot("oidc-participant")
}
