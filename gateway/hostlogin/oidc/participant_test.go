package oidc

import (
	"errors"
	"testing"
)

// On a user_auth site, a login from a room's page makes the room's host
// of whom the allow rules let host it, a participant of whom they let host
// another room or the participants rule admits, and nobody of the rest.
func TestWhoMayJoinFromARoomsPage(t *testing.T) {
	s := Settings{Issuer: "https://id.example.com",
		Allow:        Allow{Groups: []Group{{Name: "sales", Rooms: []string{"retro"}}, {Name: "hosts"}}},
		Participants: Allow{EmailDomains: []string{"example.com"}, Groups: []Group{{Name: "staff"}}},
	}
	s.fillDefaults()
	for _, tc := range []struct {
		name, room string
		c          claims
		host       bool
		refused    error
	}{
		{"a host of every room", "standup", claims{"preferred_username": "carol", "groups": []any{"hosts"}}, true, nil},
		{"a host of this room", "retro", claims{"preferred_username": "dave", "groups": []any{"sales"}}, true, nil},
		{"a host of another room", "standup", claims{"preferred_username": "dave", "groups": []any{"sales"}}, false, nil},
		{"a participant by group", "retro", claims{"preferred_username": "grace", "groups": []any{"staff"}}, false, nil},
		{"a participant by verified email", "retro", claims{"preferred_username": "ann", "email": "ann@example.com", "email_verified": true}, false, nil},
		{"an unverified email", "retro", claims{"preferred_username": "eve", "email": "eve@example.com", "email_verified": false}, false, errNotAllowed},
		{"in no group", "retro", claims{"preferred_username": "mal", "groups": []any{"visitors"}}, false, errNotAllowed},
		{"no name", "retro", claims{"groups": []any{"hosts"}}, false, errNoUsableName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, host, err := s.attend(tc.c, tc.room)
			if !errors.Is(err, tc.refused) || (err == nil && host != tc.host) {
				t.Fatalf("attend: host %v, %v; want host %v, %v", host, err, tc.host, tc.refused)
			}
		})
	}
	for next, want := range map[string]string{"/join/standup": "standup", "/join/standup?name=x": "standup", "/join/a/b": "", "/login": "", "/join/": ""} {
		got, ok := joinRoom(next)
		if ok != (want != "") || ok && got != want {
			t.Errorf("joinRoom(%q) = %q %v, want %q", next, got, ok, want)
		}
	}
}
