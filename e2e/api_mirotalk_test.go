package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestMiroTalkJoinChecksCredentialsAndGivesAWorkingLink(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey+"\n\t\tuser_auth", "")
	caller, guest := s.person(t, "127.0.0.1"), s.person(t, "127.0.0.2")

	a := caller.api("/api/v1/join", `{"room":"standup","name":"Pres","audio":true,"video":false,
		"token":{"username":"alice","password":"`+password+`","presenter":true,"expire":"1h"}}`, nil)
	var out struct{ Join string }
	if a.status != http.StatusOK || json.Unmarshal(a.body, &out) != nil {
		t.Fatalf("join: %d %s", a.status, a.body)
	}
	link, err := url.Parse(out.Join)
	if err != nil || link.Path != "/join" || link.Query().Get("room") != "standup" || link.Query().Get("video") != "0" {
		t.Fatalf("join link %q", out.Join)
	}
	if strings.Contains(out.Join, password) {
		t.Fatal("the join link carries the password")
	}
	// Someone else opens the link: the gateway moves its token into the
	// fragment, and the token admits them as the presenter (admin).
	r := guest.do("GET", link.RequestURI(), "", nil, nil)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.Contains(loc, "#peer_token=") {
		t.Fatalf("opening the link: %d %q", r.status, loc)
	}
	tok, _ := url.QueryUnescape(loc[strings.Index(loc, "#peer_token=")+len("#peer_token="):])
	if g := guest.mustSignal("standup", signalOpts{token: tok}); g.hello.Role != "admin" || g.hello.Name != "Pres" {
		t.Fatalf("the link's token admits as %+v", g.hello)
	}

	// MiroTalk never checked these; roomgate does.
	bad := caller.api("/api/v1/join", `{"room":"standup","token":{"username":"alice","password":"guess","presenter":true}}`, nil)
	if bad.status != http.StatusUnauthorized || bad.errorCode() != "invalid_credentials" {
		t.Fatalf("wrong password: %d %s", bad.status, bad.body)
	}
	if b := caller.api("/api/v1/join", `{"room":"standup","token":{"username":"alice","password":"`+password+`","expire":"forever"}}`, nil); b.status != http.StatusBadRequest {
		t.Fatalf("bad expire: %d %s", b.status, b.body)
	}
	// Without token credentials, a plain link that still needs a login under user_auth.
	plain := caller.api("/api/v1/join", `{"room":"standup"}`, nil)
	if plain.status != http.StatusOK || strings.Contains(string(plain.body), "token") {
		t.Fatalf("plain join: %d %s", plain.status, plain.body)
	}

	m := caller.api("/api/v1/meeting", ``, nil)
	var meeting struct{ Meeting string }
	if m.status != http.StatusOK || json.Unmarshal(m.body, &meeting) != nil || !strings.Contains(meeting.Meeting, "/join/") {
		t.Fatalf("meeting: %d %s", m.status, m.body)
	}
}
