package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
)

func TestMatchFormIsCaddysPathMatcherForm(t *testing.T) {
	for in, want := range map[string]string{
		"/ws": "/ws", "/WS": "/ws", "//ws": "/ws", "/./ws": "/ws", "/x/../ws": "/ws",
		"/../ws": "/ws", "/ws/": "/ws/", "/ws/.": "/ws", "/ws//": "/ws/", "/Api/V1//Rooms": "/api/v1/rooms",
		"/ws;x": "/ws;x", "": ".",
	} {
		if got := matchForm(in); got != want {
			t.Errorf("matchForm(%q) = %q; want %q", in, got, want)
		}
	}
}

// The forms of a WebSocket request HTTP/2 and HTTP/3 have (extended
// CONNECT, RFC 8441 and 9220) meet the same decision at every spelling of
// the signalling path: a guest with no host in the room is refused, and
// nothing reaches the upstream.
func TestExtendedConnectMeetsTheDecision(t *testing.T) {
	r := newRig(t, Config{HostProtected: true})
	for _, path := range []string{"/ws", "/WS", "//ws", "/./ws", "/a/../Ws"} {
		for _, proto := range []int{2, 3} {
			req := httptest.NewRequest(http.MethodConnect, path+"?room=standup", nil)
			req.RemoteAddr = "127.0.0.2:5000"
			req.ProtoMajor = proto
			if proto == 2 {
				req.Header.Set(":protocol", "websocket")
			} else {
				req.Proto = "websocket"
			}
			req.Header.Set(accesstoken.AdmissionHeader, "forged")
			w := httptest.NewRecorder()
			reached := false
			r.g.ServeHTTP(w, req, func(http.ResponseWriter, *http.Request) error { reached = true; return nil })
			if reached || w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "host_absent") {
				t.Errorf("HTTP/%d CONNECT %s: upstream reached %v, answer %d %s", proto, path, reached, w.Code, w.Body)
			}
		}
	}
}

// A request for a path that is not the gateway's goes on, without anything
// that stands for a roomgate credential, and with what is not roomgate's.
func TestPassingRequestsLoseRoomgateCredentials(t *testing.T) {
	r := newRig(t, Config{})
	tok := r.login("127.0.0.1")
	req := httptest.NewRequest(http.MethodGet, "/elsewhere", nil)
	req.Header["Roomgate-Admission"] = []string{"a"}
	req.Header["roomgate-admission"] = []string{"b"}
	req.Header["Roomgate_Admission"] = []string{"c"}
	req.Header.Set("Cookie", hostlogin.CookieName+"="+tok+"; theme=dark; "+hostlogin.BindingCookie+"=a-login-in-progress")
	req.Header.Set("Sec-WebSocket-Protocol", "roomgate, roomgate.token."+tok+", roomgate.rejoin.x, roomgate.owner.y, chat")
	req.Header.Set("Authorization", "Bearer "+tok)
	var got http.Header
	r.g.ServeHTTP(httptest.NewRecorder(), req, func(w http.ResponseWriter, req *http.Request) error {
		got = req.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	if got == nil {
		t.Fatal("the request did not go on")
	}
	for k, vs := range got {
		if strings.Contains(strings.ToLower(k), "admission") || strings.Contains(strings.Join(vs, " "), tok) {
			t.Errorf("went on with %s: %q", k, vs)
		}
	}
	if got.Get("Cookie") != "theme=dark" || got.Get("Sec-Websocket-Protocol") != "roomgate, chat" {
		t.Errorf("what is not roomgate's was changed: Cookie %q, subprotocols %q", got.Get("Cookie"), got.Get("Sec-Websocket-Protocol"))
	}

	other := httptest.NewRequest(http.MethodGet, "/elsewhere", nil)
	other.Header.Set("Authorization", "Bearer an-api-key-of-another-app")
	r.g.ServeHTTP(httptest.NewRecorder(), other, func(w http.ResponseWriter, req *http.Request) error {
		got = req.Header.Clone()
		return nil
	})
	if got.Get("Authorization") != "Bearer an-api-key-of-another-app" {
		t.Errorf("another app's Authorization was taken out: %q", got.Get("Authorization"))
	}
}

func TestSignalPathMustBeInMatchForm(t *testing.T) {
	for _, p := range []string{"/WS", "/ws/../x", "//ws", "/login", "/api/v1/ws", "/join/x"} {
		cfg := Config{SignalPath: p, ClientIP: nil}
		cfg.fillDefaults()
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "signal_path") {
			t.Errorf("signal_path %q: %v", p, err)
		}
	}
}
