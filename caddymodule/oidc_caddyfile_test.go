package caddymodule

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func parseGateway(t *testing.T, body string) (*Gateway, error) {
	t.Helper()
	g := new(Gateway)
	err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser("roomgate {\n" + body + "\n}"))
	return g, err
}

func TestOIDCWordsBecomeTheConfiguration(t *testing.T) {
	t.Setenv("TEST_OIDC_SECRET", "s3cret-value-never-shown")
	g, err := parseGateway(t, `	oidc https://id.example.com/realms/acme {
		client_id roomgate
		client_secret {env.TEST_OIDC_SECRET}
		scopes profile email groups
		username_claim email
		groups_claim roles
		label "Acme SSO"
		allow email_domain example.com example.org
		allow group /meet-hosts
		allow group sales rooms standup,retro
		participants email_domain example.net
		participants group staff contractors
	}
	host_protected`)
	if err != nil {
		t.Fatal(err)
	}
	want := &OIDCConfig{
		Issuer: "https://id.example.com/realms/acme", ClientID: "roomgate", ClientSecret: "{env.TEST_OIDC_SECRET}",
		Scopes: []string{"profile", "email", "groups"}, UsernameClaims: []string{"email"}, GroupsClaim: "roles",
		Label: "Acme SSO", AllowEmailDomains: []string{"example.com", "example.org"},
		AllowGroups:  []OIDCGroup{{Group: "/meet-hosts"}, {Group: "sales", Rooms: []string{"standup", "retro"}}},
		Participants: &OIDCParticipants{EmailDomains: []string{"example.net"}, Groups: []string{"staff", "contractors"}},
	}
	if !reflect.DeepEqual(g.OIDC, want) {
		t.Fatalf("got %+v\nwant %+v", g.OIDC, want)
	}
	if !g.HostProtected {
		t.Fatal("the word after the oidc block was lost")
	}
	s, err := g.OIDC.settings()
	if err != nil || s.ClientSecret != "s3cret-value-never-shown" {
		t.Fatalf("the secret is not read from the environment at start: %v", err)
	}
}

// Every mistake names its line, and none repeats the secret.
func TestOIDCMistakesNameTheirLine(t *testing.T) {
	t.Setenv("TEST_OIDC_SECRET", "s3cret-value-never-shown")
	const good = "client_id roomgate\n client_secret {env.TEST_OIDC_SECRET}\n allow everyone"
	for _, tc := range []struct {
		name, body, says string
		line             int
	}{
		{"no issuer", "oidc {\n" + good + "\n}", "issuer URL", 2},
		{"not a URL", "oidc id.example.com {\n" + good + "\n}", "must be an https:// URL", 2},
		{"plain http elsewhere", "oidc http://id.example.com {\n" + good + "\n}", "must be https://", 2},
		{"a query", "oidc https://id.example.com/?x=1 {\n" + good + "\n}", "no query", 2},
		{"no client id", "oidc https://id.example.com {\n client_secret {env.TEST_OIDC_SECRET}\n allow everyone\n}", "needs client_id", 2},
		{"no secret", "oidc https://id.example.com {\n client_id roomgate\n allow everyone\n}", "needs client_secret", 2},
		{"secret written out", "oidc https://id.example.com {\n client_id roomgate\n client_secret s3cret-value-never-shown\n allow everyone\n}", "from the environment", 4},
		{"secret unset", "oidc https://id.example.com {\n client_id roomgate\n client_secret {env.TEST_OIDC_NOT_SET}\n allow everyone\n}", "TEST_OIDC_NOT_SET is empty or not set", 4},
		{"nobody said who hosts", "oidc https://id.example.com {\n client_id roomgate\n client_secret {env.TEST_OIDC_SECRET}\n}", "who may be a host", 2},
		{"everyone and groups", "oidc https://id.example.com {\n" + good + "\n allow group hosts\n}", "meaningless", 2},
		{"bad domain", "oidc https://id.example.com {\n" + good + "\n allow email_domain @example.com\n}", "lower-case domain", 6},
		{"bad room", "oidc https://id.example.com {\n client_id roomgate\n client_secret {env.TEST_OIDC_SECRET}\n allow group hosts rooms a/b\n}", `room "a/b"`, 5},
		{"allow what", "oidc https://id.example.com {\n" + good + "\n allow admins\n}", "allow takes everyone", 6},
		{"unknown word", "oidc https://id.example.com {\n" + good + "\n secret_file x\n}", `unknown oidc option "secret_file"`, 6},
		{"participants what", "oidc https://id.example.com {\n" + good + "\n participants admins\n}", "participants takes everyone", 6},
		{"participants group with no value", "oidc https://id.example.com {\n" + good + "\n participants group\n}", "participants group takes", 6},
		{"participants bad domain", "oidc https://id.example.com {\n" + good + "\n participants email_domain Example.com\n}", "lower-case domain", 6},
		{"twice", "oidc https://id.example.com {\n" + good + "\n}\noidc https://id.example.com {\n" + good + "\n}", "configured twice", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseGateway(t, tc.body)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.says) || !strings.HasSuffix(msg, ":"+strconv.Itoa(tc.line)) {
				t.Fatalf("error %q: want %q at line %d", msg, tc.says, tc.line)
			}
			if strings.Contains(msg, "s3cret-value-never-shown") {
				t.Fatalf("the error repeats the secret: %q", msg)
			}
		})
	}
}
