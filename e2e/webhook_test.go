package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomgate/roomgate/webhook"
)

// hookReceiver is a webhook receiver that can be down (503), and keeps
// what it got, in order, with its headers.
type hookReceiver struct {
	srv  *httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	got  []hookDelivery
}

type hookDelivery struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t testing.TB) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if h.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, hookDelivery{r.Header.Clone(), b})
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) deliveries() []hookDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookDelivery(nil), h.got...)
}

// Event notifications wait while the receiver is down, across a restart,
// and arrive once it is back: all of them, signed, in order per room.
func TestWebhooksSurviveADownReceiverAndARestartInOrder(t *testing.T) {
	const secret = "e2e-webhook-secret-0123456789abcdef"
	hook := newHookReceiver(t)
	hook.down.Store(true)
	s := gatewaySite(t, "host_protected\n\t\twebhook "+hook.srv.URL+"/hook\n\t\twebhook_secret "+secret+"\n\t\twebhook_retry_max 300ms", "")
	s.person(t, "127.0.0.1").mustLogin("alice", password)
	order := []struct{ room, ip string }{{"a", "127.0.0.2"}, {"b", "127.0.0.3"}, {"a", "127.0.0.4"}, {"b", "127.0.0.5"}, {"a", "127.0.0.6"}}
	for _, o := range order {
		s.person(t, o.ip).refusedSignal(o.room, signalOpts{}, http.StatusForbidden)
	}
	// Every delivery waits in Caddy's storage before the restart.
	kept := filepath.Join(s.Dir, "caddy", "roomgate", "webhooks.json")
	if !eventually(10*time.Second, func() bool {
		b, _ := os.ReadFile(kept)
		return strings.Count(string(b), `"url"`) == 6 || strings.Count(string(b), "eyJ") == 6
	}) {
		b, _ := os.ReadFile(kept)
		t.Fatalf("the kept queues: %s", b)
	}
	s.Restart()
	if len(hook.deliveries()) != 0 {
		t.Fatal("a delivery arrived while the receiver was down")
	}
	hook.down.Store(false)
	if !eventually(20*time.Second, func() bool { return len(hook.deliveries()) >= 6 }) {
		t.Fatalf("%d of 6 deliveries arrived after the receiver came back", len(hook.deliveries()))
	}
	key, _ := webhook.ParseSecret(secret)
	byRoom := map[string][]string{}
	ids := map[string]bool{}
	types := map[string]int{}
	for _, d := range hook.deliveries() {
		if err := key.Verify(d.header, d.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("a delivery does not verify: %v", err)
		}
		if ids[d.header.Get("webhook-id")] {
			t.Fatalf("a delivery arrived twice: %s", d.header.Get("webhook-id"))
		}
		ids[d.header.Get("webhook-id")] = true
		var ev struct {
			Type string
			Data map[string]any
		}
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatal(err)
		}
		types[ev.Type]++
		if ev.Type == "admission.refused" {
			room, _ := ev.Data["room"].(string)
			addr, _ := ev.Data["address"].(string)
			byRoom[room] = append(byRoom[room], addr)
			if ev.Data["rule"] != "host_absent" {
				t.Fatalf("refusal event %+v", ev)
			}
		}
	}
	if types["host.login"] != 1 || types["admission.refused"] != 5 {
		t.Fatalf("events arrived: %v", types)
	}
	if strings.Join(byRoom["a"], " ") != "127.0.0.2 127.0.0.4 127.0.0.6" || strings.Join(byRoom["b"], " ") != "127.0.0.3 127.0.0.5" {
		t.Fatalf("order per room: %v", byRoom)
	}
}

// The media server's events reach the webhooks too, in order per room:
// the room starts, someone knocks and is turned away, the meeting ends.
func TestWebhooksCarryTheMediaServersEvents(t *testing.T) {
	t.Parallel()
	const secret = "e2e-webhook-secret-0123456789abcdef"
	hook, roomHook := newHookReceiver(t), newHookReceiver(t)
	s := newMediaSite(t, "api_key "+apiKey+"\n\t\twebhook "+hook.srv.URL+"\n\t\twebhook_secret "+secret)
	owner := s.person(t, "127.0.0.1")
	if a := owner.apiCall("POST", "/api/v1/room", `{"roomName":"board","privacy":"private","enableRequestToJoin":true,
		"meetingStartedWebhook":"`+roomHook.srv.URL+`/started","meetingJoinWebhook":"`+roomHook.srv.URL+`/joined"}`); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	admin := owner.mustJoin("board", joinOpts{token: owner.mintToken(`{"roomName":"board","isAdmin":true,"name":"Ada"}`)})
	knocker := s.person(t, "127.0.0.2").mustJoin("board", joinOpts{name: "Kim"})
	lobbyEvent(t, admin, 1)
	admin.Deny(knocker.ID())
	<-knocker.Done()
	admin.End()
	<-admin.Done()
	want := []string{"room.started", "lobby.knocked", "lobby.denied", "room.ended"}
	var got []string
	if !eventually(20*time.Second, func() bool {
		got = nil
		for _, d := range hook.deliveries() {
			var ev struct {
				Type string
				Data map[string]any
			}
			json.Unmarshal(d.body, &ev)
			for _, w := range want {
				if ev.Type == w && ev.Data["room"] == "board" {
					got = append(got, ev.Type)
				}
			}
		}
		return len(got) >= len(want)
	}) {
		t.Fatalf("the media server's events that arrived: %v", got)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the media server's events in order: %v", got)
	}
	key, _ := webhook.ParseSecret(secret)
	for _, d := range hook.deliveries() {
		if err := key.Verify(d.header, d.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("a delivery does not verify: %v", err)
		}
	}
	// The room's own webhooks (Metered's properties) got their events, signed.
	if !eventually(10*time.Second, func() bool {
		seen := map[string]bool{}
		for _, d := range roomHook.deliveries() {
			var ev struct{ Type string }
			json.Unmarshal(d.body, &ev)
			if key.Verify(d.header, d.body, time.Now(), 5*time.Minute) == nil {
				seen[ev.Type] = true
			}
		}
		return seen["room.started"] && seen["participant.joined"] && !seen["room.ended"]
	}) {
		t.Fatalf("the room's own webhooks got %d deliveries", len(roomHook.deliveries()))
	}
}
