package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// explain says what the door would decide and why, and changes nothing: a
// single-use link explained three times still lets its person in once.
func TestExplainDecidesWithoutSideEffects(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "host_protected", "")
	admin := s.person(t, "127.0.0.1")
	link := admin.mintToken(`{"roomName":"standup","maxUses":1,"name":"Ada"}`)
	explain := func(body string) (ans struct {
		Decision  string
		Role      string
		Rules     []struct{ Rule, Result string }
		DecidedBy *struct{ Rule, Code string }
	}) {
		t.Helper()
		a := admin.api("/api/v1/explain", body, nil)
		if a.status != http.StatusOK || json.Unmarshal(a.body, &ans) != nil {
			t.Fatalf("explain %s: %d %s", body, a.status, a.body)
		}
		return ans
	}
	for range 3 {
		ans := explain(`{"room":"standup","address":"127.0.0.2","token":"` + link + `"}`)
		if ans.Decision != "admit" || ans.Role != "guest" || ans.DecidedBy != nil {
			t.Fatalf("explaining the single-use link: %+v", ans)
		}
		var rules []string
		for _, r := range ans.Rules {
			rules = append(rules, r.Rule)
		}
		if got := strings.Join(rules, " "); !strings.Contains(got, "token shared_state ban revocation token_room") || !strings.HasSuffix(got, "capacity invitation_uses") {
			t.Fatalf("the rules checked: %s", got)
		}
	}
	s.person(t, "127.0.0.2").mustSignal("standup", signalOpts{token: link})
	if ans := explain(`{"room":"standup","address":"127.0.0.3","token":"` + link + `"}`); ans.DecidedBy == nil || ans.DecidedBy.Code != "invitation_used" || ans.DecidedBy.Rule != "invitation_uses" {
		t.Fatalf("explaining the used link: %+v", ans)
	}
	// No host: a guest without credentials would wait for one; explaining
	// a host's login opens no session and takes no place.
	if ans := explain(`{"room":"retro","address":"127.0.0.4"}`); ans.DecidedBy == nil || ans.DecidedBy.Rule != "host_present" || ans.DecidedBy.Code != "host_absent" {
		t.Fatalf("explaining a guest before the host: %+v", ans)
	}
	if a := admin.api("/api/v1/explain", `{"room":"retro"}`, nil); a.status != http.StatusBadRequest {
		t.Fatalf("explain without an address: %d %s", a.status, a.body)
	}
}
