package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const apiKey = "e2e-api-key-0123456789"

func (p *person) api(path string, body string, header http.Header) answer {
	p.t.Helper()
	if header == nil {
		header = http.Header{"Authorization": {"Bearer " + apiKey}}
	}
	return p.do("POST", path, "application/json", strings.NewReader(body), header)
}

func (p *person) mintToken(props string) string {
	p.t.Helper()
	a := p.api("/api/v1/token", props, nil)
	var out struct{ Token string }
	if a.status != http.StatusOK || json.Unmarshal(a.body, &out) != nil || out.Token == "" {
		p.t.Fatalf("minting %s: %d %s", props, a.status, a.body)
	}
	return out.Token
}

func TestAPIIsAbsentWithoutAKey(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, noAPI, "")
	if a := s.person(t, "127.0.0.1").api("/api/v1/token", `{"roomName":"a"}`, nil); a.status != http.StatusNotFound {
		t.Fatalf("API without api_key: %d", a.status)
	}
}

func TestAPIKeyIsTakenThreeWaysAndOnlyRight(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey, "")
	p := s.person(t, "127.0.0.1")
	body := `{"roomName":"standup"}`
	for name, h := range map[string]http.Header{
		"no key":        {},
		"wrong key":     {"Authorization": {"Bearer wrong-key-0123456789"}},
		"wrong bare":    {"Authorization": {apiKey + "x"}},
		"prefix of key": {"Authorization": {"Bearer " + apiKey[:10]}},
	} {
		if a := p.api("/api/v1/token", body, h); a.status != http.StatusUnauthorized || a.errorCode() != "invalid_api_key" {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	for name, h := range map[string]http.Header{
		"Bearer":               {"Authorization": {"Bearer " + apiKey}},
		"MiroTalk's bare form": {"Authorization": {apiKey}},
	} {
		if a := p.api("/api/v1/token", body, h); a.status != http.StatusOK {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	if a := p.do("POST", "/api/v1/token?secretKey="+apiKey, "application/json", strings.NewReader(body), nil); a.status != http.StatusOK {
		t.Errorf("Metered's secretKey: %d %s", a.status, a.body)
	}
}

func TestAPITokensCarryTheirPropertiesAndAdmit(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey+"\n\t\tuser_auth", "")
	p := s.person(t, "127.0.0.2")
	exp := time.Now().Add(2 * time.Hour).Unix()
	props := fmt.Sprintf(`{"isAdmin":true,"roomName":"standup","name":"Ada","email":"ada@example.com","meta":"%s",
		"externalUserId":"u-7","expireUnixSec":%d,"ejectAfterElapsedTimeInSec":600,"ejectAtTokenExp":true}`, strings.Repeat("m", 1000), exp)
	tok := p.mintToken(props)

	a := p.api("/api/v1/token/validate", `{"token":"`+tok+`"}`, nil)
	var got map[string]any
	if a.status != http.StatusOK || json.Unmarshal(a.body, &got) != nil {
		t.Fatalf("validate: %d %s", a.status, a.body)
	}
	want := map[string]any{"isAdmin": true, "roomName": "standup", "globalToken": false, "name": "Ada", "email": "ada@example.com",
		"meta": strings.Repeat("m", 1000), "externalUserId": "u-7", "expireUnixSec": float64(exp),
		"ejectAfterElapsedTimeInSec": float64(600), "ejectAtTokenExp": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("validate %s = %v; want %v", k, got[k], v)
		}
	}
	if g := p.mustSignal("standup", signalOpts{token: tok}); g.hello.Role != "admin" || g.hello.Name != "Ada" {
		t.Fatalf("admin token admitted as %+v", g.hello)
	}
	p.refusedSignal("retro", signalOpts{token: tok}, http.StatusUnauthorized)
	global := p.mintToken(`{"globalToken":true,"name":"Gio"}`)
	p.mustSignal("retro", signalOpts{token: global})

	// A token not valid yet is refused until its time.
	later := p.mintToken(fmt.Sprintf(`{"roomName":"standup","notBeforeUnixSec":%d}`, time.Now().Add(time.Hour).Unix()))
	p.refusedSignal("standup", signalOpts{token: later}, http.StatusUnauthorized)
}

func TestAPITokenRequestsRefuseBadInput(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey, "")
	p := s.person(t, "127.0.0.1")
	past := time.Now().Add(-time.Hour).Unix()
	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"meta of 1001":           {`{"roomName":"a","meta":"` + strings.Repeat("m", 1001) + `"}`, 400},
		"not JSON":               {`roomName=a`, 400},
		"two objects":            {`{"roomName":"a"}{}`, 400},
		"unknown property":       {`{"roomName":"a","isAdmn":true}`, 400},
		"property in other case": {`{"ROOMNAME":"a"}`, 400},
		"wrong type":             {`{"roomName":7}`, 400},
		"room and global":        {`{"roomName":"a","globalToken":true}`, 400},
		"neither":                {`{"name":"x"}`, 400},
		"bad room":               {`{"roomName":"a/b"}`, 400},
		"expired":                {fmt.Sprintf(`{"roomName":"a","expireUnixSec":%d}`, past), 400},
		"ten years":              {fmt.Sprintf(`{"roomName":"a","expireUnixSec":%d}`, time.Now().AddDate(10, 0, 0).Unix()), 400},
		"negative eject":         {`{"roomName":"a","ejectAfterElapsedTimeInSec":-1}`, 400},
		"65 KiB":                 {`{"roomName":"a","name":"` + strings.Repeat("n", 65<<10) + `"}`, 413},
		"validate garbage":       {`{"token":"garbage"}`, 401},
		"validate not JSON":      {`token`, 400},
	} {
		path := "/api/v1/token"
		if strings.HasPrefix(name, "validate") {
			path = "/api/v1/token/validate"
		}
		if a := p.api(path, tc.body, nil); a.status != tc.status || a.errorCode() == "" {
			t.Errorf("%s: %d %s; want %d and a JSON error", name, a.status, a.body, tc.status)
		}
	}
}

func TestRevokedTokensStopEverywhereAndStayRevoked(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey+"\n\t\tuser_auth", "")
	p := s.person(t, "127.0.0.2")
	tok := p.mintToken(`{"roomName":"standup"}`)
	other := p.mintToken(`{"roomName":"standup"}`)
	live := p.mustSignal("standup", signalOpts{token: tok})
	stays := p.mustSignal("standup", signalOpts{token: other})

	if a := p.api("/api/v1/token/revoke", `{"token":"`+tok+`"}`, nil); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if err := live.cutWith(2*time.Second, 4001, "revoked"); err != nil {
		t.Fatalf("the revoked token's live connection: %v", err)
	}
	if !stays.echoes() {
		t.Fatal("another token's connection was cut")
	}
	p.refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized)
	if a := p.api("/api/v1/token/validate", `{"token":"`+tok+`"}`, nil); a.status != http.StatusUnauthorized {
		t.Fatalf("validate a revoked token: %d", a.status)
	}

	s.Restart()
	p.refusedSignal("standup", signalOpts{token: tok}, http.StatusUnauthorized)
	p.mustSignal("standup", signalOpts{token: other})
}
