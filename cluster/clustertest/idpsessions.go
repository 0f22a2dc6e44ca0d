package clustertest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/roomgate/roomgate/cluster"
)

// What an OpenID Connect back-channel logout names: a provider's subject
// (every login of that person), its session id (one login), or both (that
// login, if it is that person's); never another provider's logins, nor a
// password login of the same name, nor a session that ended.
func testIdPSessions(t *testing.T, a, b cluster.Store) {
	const iss, other = "https://id.example.com", "https://id.other.example"
	open := func(id, user, issuer, sub, sid string) {
		t.Helper()
		s := session(id, user)
		if issuer != "" {
			s.IdP = &cluster.IdPLogin{Issuer: issuer, Subject: sub, SID: sid}
		}
		_, err := a.OpenSession(ctx, s, 16)
		must(t, err)
	}
	open("c1", "carol", iss, "sub-carol", "sid-1")
	open("c2", "carol", iss, "sub-carol", "sid-2")
	open("c3", "carol", iss, "sub-carol", "") // the provider sent no sid
	open("d1", "dave", iss, "sub-dave", "sid-3")
	open("x1", "carol", other, "sub-carol", "sid-1") // the same values at another provider
	open("p1", "carol", "", "", "")                  // a password login of the same name

	cases := []struct {
		sub, sid string
		want     []string
	}{
		{"sub-carol", "", []string{"c1", "c2", "c3"}},
		{"", "sid-1", []string{"c1"}},
		{"sub-carol", "sid-2", []string{"c2"}},
		{"sub-dave", "sid-1", nil}, // sid-1 is carol's
		{"sub-nobody", "", nil},
		{"", "", nil},
	}
	for _, c := range cases {
		got, err := ids(b.IdPSessions(ctx, iss, c.sub, c.sid))
		must(t, err)
		if !slices.Equal(got, c.want) {
			t.Fatalf("sessions of sub %q sid %q: %v, want %v", c.sub, c.sid, got, c.want)
		}
	}
	got, err := ids(b.IdPSessions(ctx, other, "sub-carol", ""))
	must(t, err)
	if !slices.Equal(got, []string{"x1"}) {
		t.Fatalf("the other provider's: %v", got)
	}

	must(t, b.EndSession(ctx, "c1", "logged out"))
	got, err = ids(a.IdPSessions(ctx, iss, "sub-carol", ""))
	must(t, err)
	if !slices.Equal(got, []string{"c2", "c3"}) {
		t.Fatalf("after c1 ended: %v", got)
	}
	got, err = ids(a.IdPSessions(ctx, iss, "", "sid-1"))
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("an ended session is still named by its sid: %v", got)
	}
}

// ids are the sessions' ids; each must be read back whole (a logout
// names its user in the audit log).
func ids(found []cluster.Session, err error) ([]string, error) {
	var out []string
	for _, s := range found {
		if s.User == "" || s.IdP == nil || s.Expires.IsZero() {
			return nil, fmt.Errorf("session %s read back as %+v", s.ID, s)
		}
		out = append(out, s.ID)
	}
	return out, err
}
