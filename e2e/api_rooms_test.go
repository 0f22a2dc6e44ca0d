package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (p *person) apiCall(method, path, body string) answer {
	p.t.Helper()
	return p.do(method, path, "application/json", strings.NewReader(body), http.Header{"Authorization": {"Bearer " + apiKey}})
}

func TestRoomsAPIMakesReadsChangesAndDeletesRooms(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey+"\n\t\tauto_create_rooms off", "")
	p := s.person(t, "127.0.0.1")

	a := p.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private","enableRequestToJoin":true,"maxParticipants":5}`)
	var room map[string]any
	if a.status != http.StatusCreated || json.Unmarshal(a.body, &room) != nil || room["roomName"] != "board" ||
		room["privacy"] != "private" || room["enableRequestToJoin"] != true || room["maxParticipants"] != float64(5) {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	if a := p.apiCall("POST", "/api/v1/room", `{"roomName":"board"}`); a.status != http.StatusConflict {
		t.Fatalf("duplicate: %d %s", a.status, a.body)
	}
	a = p.apiCall("POST", "/api/v1/room", `{}`)
	var named map[string]any
	if a.status != http.StatusCreated || json.Unmarshal(a.body, &named) != nil || named["roomName"] == "" || named["privacy"] != "public" {
		t.Fatalf("create without a name: %d %s", a.status, a.body)
	}
	// With no body at all, as docs/api.md says: every property is optional.
	if a := p.apiCall("POST", "/api/v1/room", ""); a.status != http.StatusCreated {
		t.Fatalf("create with no body: %d %s", a.status, a.body)
	}
	// A property in another case is not that property.
	if a := p.apiCall("POST", "/api/v1/room", `{"ROOMNAME":"x","PRIVACY":"private"}`); a.status != http.StatusBadRequest || !strings.Contains(string(a.body), `unknown property \"PRIVACY\"`) {
		t.Fatalf("properties in capitals: %d %s", a.status, a.body)
	}
	var list []map[string]any
	if a := p.apiCall("GET", "/api/v1/rooms", ""); a.status != 200 || json.Unmarshal(a.body, &list) != nil || len(list) != 3 {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	if a := p.apiCall("GET", "/api/v1/room/board", ""); a.status != 200 || !strings.Contains(string(a.body), `"private"`) {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	if a := p.apiCall("PATCH", "/api/v1/room/board", `{"privacy":"public"}`); a.status != 200 || !strings.Contains(string(a.body), `"public"`) {
		t.Fatalf("patch: %d %s", a.status, a.body)
	}
	// Bad input changes nothing.
	for name, tc := range map[string]struct {
		method, path, body string
		status             int
	}{
		"bad privacy":       {"POST", "/api/v1/room", `{"roomName":"x1","privacy":"secret"}`, 400},
		"bad name":          {"POST", "/api/v1/room", `{"roomName":"a b"}`, 400},
		"negative max":      {"POST", "/api/v1/room", `{"roomName":"x2","maxParticipants":-1}`, 400},
		"past expiry":       {"POST", "/api/v1/room", `{"roomName":"x3","expireUnixSec":1}`, 400},
		"not JSON":          {"POST", "/api/v1/room", `privacy=public`, 400},
		"65 KiB":            {"POST", "/api/v1/room", `{"roomName":"` + strings.Repeat("a", 65<<10) + `"}`, 413},
		"patch bad privacy": {"PATCH", "/api/v1/room/board", `{"privacy":"secret","maxParticipants":3}`, 400},
		"rename":            {"PATCH", "/api/v1/room/board", `{"roomName":"other"}`, 400},
		"unknown room":      {"GET", "/api/v1/room/nowhere", ``, 404},
		"patch unknown":     {"PATCH", "/api/v1/room/nowhere", `{}`, 404},
		"delete unknown":    {"DELETE", "/api/v1/room/nowhere", ``, 404},
		"wrong method":      {"PUT", "/api/v1/room/board", `{}`, 405},
	} {
		if a := p.apiCall(tc.method, tc.path, tc.body); a.status != tc.status || a.errorCode() == "" {
			t.Errorf("%s: %d %s; want %d", name, a.status, a.body, tc.status)
		}
	}
	if a := p.apiCall("GET", "/api/v1/room/board", ""); !strings.Contains(string(a.body), `"maxParticipants":5`) || !strings.Contains(string(a.body), `"public"`) {
		t.Fatalf("a refused change changed the room: %s", a.body)
	}
	// (by its whole name: a generated name may hold "x1")
	if a := p.apiCall("GET", "/api/v1/rooms", ""); strings.Contains(string(a.body), `"roomName":"x1"`) {
		t.Fatal("a refused create made a room")
	}

	// With auto_create_rooms off, only made rooms exist.
	g := s.person(t, "127.0.0.2")
	g.mustSignal("board", signalOpts{})
	if a := g.refusedSignal("nowhere", signalOpts{}, http.StatusNotFound); a.errorCode() != "no_such_room" {
		t.Fatalf("unmade room: %s", a.body)
	}
	// Deleting a room ends its meeting.
	live := g.mustSignal("board", signalOpts{})
	if a := p.apiCall("DELETE", "/api/v1/room/board", ""); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if err := live.cutWith(5*time.Second, 4002, "ended"); err != nil {
		t.Fatalf("the deleted room's meeting: %v", err)
	}
	g.refusedSignal("board", signalOpts{}, http.StatusNotFound)

	// Rooms survive a restart.
	s.Restart()
	if a := p.apiCall("GET", "/api/v1/room/"+named["roomName"].(string), ""); a.status != 200 {
		t.Fatalf("after a restart: %d %s", a.status, a.body)
	}
}

func TestPrivateRoomsAdmitOnlyWithTheRightCredentials(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey, "")
	p, host := s.person(t, "127.0.0.2"), s.person(t, "127.0.0.1")
	if a := p.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private"}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	if a := p.refusedSignal("board", signalOpts{}, http.StatusForbidden); a.errorCode() != "private_room" {
		t.Fatalf("no token: %s", a.body)
	}
	p.refusedSignal("board", signalOpts{token: p.mintToken(`{"roomName":"lobby"}`)}, http.StatusUnauthorized)
	p.mustSignal("board", signalOpts{token: p.mintToken(`{"roomName":"board"}`)})
	p.mustSignal("board", signalOpts{token: p.mintToken(`{"globalToken":true}`)})
	if h := host.mustSignal("board", signalOpts{token: host.mustLogin("alice", password)}); h.hello.Role != "host" {
		t.Fatalf("host in a private room: %+v", h.hello)
	}
}

func TestMaxParticipantsExpiryAndParticipants(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "api_key "+apiKey, "")
	p := s.person(t, "127.0.0.2")
	exp := time.Now().Add(3 * time.Second).Unix()
	if a := p.apiCall("POST", "/api/v1/room", fmt.Sprintf(`{"roomName":"pair","maxParticipants":2,"expireUnixSec":%d}`, exp)); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	one := p.mustSignal("pair", signalOpts{token: p.mintToken(`{"roomName":"pair","name":"Uno","email":"uno@example.com","externalUserId":"u1","isAdmin":true}`)})
	two := p.mustSignal("pair", signalOpts{name: "Dos"})
	if a := p.refusedSignal("pair", signalOpts{name: "Tres"}, http.StatusForbidden); a.errorCode() != "room_full" {
		t.Fatalf("third: %s", a.body)
	}
	a := p.apiCall("GET", "/api/v1/room/pair/participants", "")
	var people []map[string]any
	if a.status != 200 || json.Unmarshal(a.body, &people) != nil || len(people) != 2 {
		t.Fatalf("participants: %d %s", a.status, a.body)
	}
	for _, who := range people {
		if who["name"] == "Uno" && (who["email"] != "uno@example.com" || who["externalUserId"] != "u1" || who["isAdmin"] != true || who["joinedAt"] == "") {
			t.Fatalf("participant %v", who)
		}
	}
	// At its expiry the room closes for everyone.
	for _, c := range []*signalling{one, two} {
		if err := c.cutWith(10*time.Second, 4002, "ended"); err != nil {
			t.Fatalf("the expired room's meeting: %v", err)
		}
	}
	if a := p.apiCall("GET", "/api/v1/room/pair", ""); a.status != http.StatusNotFound {
		t.Fatalf("expired room: %d", a.status)
	}
}
