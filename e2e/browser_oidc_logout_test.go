package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomgate/roomgate/internal/testidp"
)

// A host who logged in through the provider and logs out of the room
// page is logged out at the provider too (RP-Initiated Logout): the
// browser goes through the provider's end_session endpoint, which ends its
// session for roomgate's client and sends the browser back to the site's
// login page; the host's call is over.
func TestBrowserIDPLogoutEndsTheProvidersSession(t *testing.T) {
	t.Parallel()
	idp, s, host := carolHostsThroughTheProvider(t)
	if len(idp.Ended()) != 0 {
		t.Fatalf("the provider ended sessions before anyone logged out: %v", idp.Ended())
	}
	host.do(10*time.Second, chromedp.Click(chromedp.ID("logout")))

	back := fmt.Sprintf("http://localhost:%d/login", s.port)
	var at string
	if !eventually(30*time.Second, func() bool {
		at, _ = eval[string](host, 5*time.Second, `location.href`)
		return strings.HasPrefix(at, back)
	}) {
		t.Fatalf("after logging out the browser is at %q, not back at %s", at, back)
	}
	if !slices.Contains(idp.Ended(), testidp.ClientID+"|") {
		t.Fatalf("the provider's end_session ended %v, not roomgate's client's session", idp.Ended())
	}
	// The login is over: the login page offers the provider's button again.
	host.do(10*time.Second, chromedp.WaitVisible(chromedp.ID("idp-login")))
	s.auditHas(t, "host.logout", map[string]any{"user": "carol"})
	host.screenshot("oidc-logged-out")
}
