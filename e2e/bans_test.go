package e2e

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/mediaserver/signal"
)

// An admin's Remove can ban: the removed person's verified identity stays
// out of the room, with a fresh token too, after a restart too; other rooms
// and other people are not touched.
func TestRemoveAndBanKeepsTheIdentityOutAcrossRestarts(t *testing.T) {
	t.Parallel()
	s := newMediaSite(t, "api_key "+apiKey)
	hostP := s.person(t, "127.0.0.1")
	host := hostP.mustJoin("standup", joinOpts{token: hostP.mustLogin("alice", password)})
	mal := s.person(t, "127.0.0.2")
	malC := mal.mustJoin("standup", joinOpts{token: hostP.mintToken(`{"roomName":"standup","externalUserId":"mallory"}`)})
	if err := host.KickAndBan(malC.ID(), signal.Ban{}); err != nil {
		t.Fatal(err)
	}
	if m := nextEvent(malC, signal.TypeBye, 5*time.Second); m == nil || m.Reason != signal.ByeKicked {
		t.Fatalf("the banned person was told %+v", m)
	}
	banned := func(when string) {
		t.Helper()
		fresh := hostP.mintToken(`{"roomName":"standup","externalUserId":"mallory"}`)
		_, err := mal.join("standup", joinOpts{token: fresh})
		var refused *signal.ErrRefused
		if !errors.As(err, &refused) || refused.Status != http.StatusForbidden || refused.Code != "banned" {
			t.Fatalf("%s: the banned identity with a fresh token: %v", when, err)
		}
	}
	banned("after the ban")
	// Another room is open to them; another person is not touched.
	mal.mustJoin("retro", joinOpts{token: hostP.mintToken(`{"globalToken":true,"externalUserId":"mallory"}`)})
	s.person(t, "127.0.0.3").mustJoin("standup", joinOpts{token: hostP.mintToken(`{"roomName":"standup","externalUserId":"trent"}`)})
	a := hostP.apiCall("GET", "/api/v1/bans", "")
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"identity":"xuid:mallory"`) || !strings.Contains(string(a.body), `"room":"standup"`) {
		t.Fatalf("the ban list: %d %s", a.status, a.body)
	}

	// Bad ban requests change nothing.
	for body, code := range map[string]string{
		`{"externalUserId":"a","username":"b"}`: "bad_ban",
		`{"roomName":"standup"}`:                "bad_ban",
		`{"address":"not an address"}`:          "bad_ban",
		`{"username":"b","durationSec":-1}`:     "bad_ban",
		`{"username":"b","roomName":"a/b"}`:     "bad_room",
	} {
		if a := hostP.apiCall("POST", "/api/v1/bans", body); a.status != http.StatusBadRequest || a.errorCode() != code {
			t.Fatalf("ban %s: %d %s", body, a.status, a.body)
		}
	}
	if a := hostP.apiCall("DELETE", "/api/v1/bans/"+url.PathEscape("user:nobody"), ""); a.status != http.StatusNotFound || a.errorCode() != "no_such_ban" {
		t.Fatalf("lifting a ban nobody made: %d %s", a.status, a.body)
	}

	s.Restart()
	banned("after a restart")
	// Lifted through the API, the identity may come back.
	if a := hostP.apiCall("DELETE", "/api/v1/bans/"+url.PathEscape("xuid:mallory")+"?roomName=standup", ""); a.status != http.StatusNoContent {
		t.Fatalf("lifting the ban: %d %s", a.status, a.body)
	}
	mal.mustJoin("standup", joinOpts{token: hostP.mintToken(`{"roomName":"standup","externalUserId":"mallory"}`)})
}
