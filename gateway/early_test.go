package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/accesstoken"
)

// The early pass is the browser's and the room's: a pass for another room,
// one from another key or a made-up value counts for nothing, and the
// cookie never goes upstream while the others do.
func TestEarlyPassIsTheBrowsersForOneRoom(t *testing.T) {
	r := newRig(t, Config{HostProtected: true})
	w := httptest.NewRecorder()
	r.g.markEarly(w, "standup")
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "roomgate_early_standup" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("the early pass's cookie: %v", cookies)
	}
	pass := cookies[0].Value
	foreign, err := accesstoken.NewAdmissions(accesstoken.Secret(strings.Repeat("x", 32)), nil).MintEarly("standup")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cookie, room string
		early              bool
	}{
		{"its own room", "roomgate_early_standup=" + pass, "standup", true},
		{"another room", "roomgate_early_retro=" + pass, "retro", false},
		{"under another room's name", "roomgate_early_standup=" + pass, "retro", false},
		{"signed with another key", "roomgate_early_standup=" + foreign, "standup", false},
		{"made up", "roomgate_early_standup=eyJhbGciOiJub25lIn0.e30.", "standup", false},
		{"none", "", "standup", false},
	} {
		req := httptest.NewRequest("GET", "/ws?room="+tc.room, nil)
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		if got := r.g.cameEarly(req, tc.room); got != tc.early {
			t.Errorf("%s: early %v, want %v", tc.name, got, tc.early)
		}
	}

	h := http.Header{"Cookie": {"a=1; roomgate_early_standup=" + pass + "; b=2", "roomgate_early_retro=x"}}
	dropEarlyCookies(h)
	if got := h.Values("Cookie"); len(got) != 1 || got[0] != "a=1; b=2" {
		t.Fatalf("after dropping the early passes: %q", got)
	}
}
