package e2e

import (
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// TestDockerfileBuildsWhatCmdRoomgateIs checks, without Docker (it cannot
// run here), that xcaddy.Dockerfile builds the same Caddy as cmd/roomgate:
// the same Caddy version, and Caddy's standard modules plus the same
// packages of ours.
func TestDockerfileBuildsWhatCmdRoomgateIs(t *testing.T) {
	t.Parallel()
	df, err := os.ReadFile("../xcaddy.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var with []string
	for _, m := range regexp.MustCompile(`--with\s+([^\s=]+)`).FindAllStringSubmatch(string(df), -1) {
		with = append(with, m[1])
	}

	f, err := parser.ParseFile(token.NewFileSet(), "../cmd/roomgate/main.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		switch {
		case p == "github.com/caddyserver/caddy/v2/cmd":
		case p == "github.com/caddyserver/caddy/v2/modules/standard":
		case strings.HasPrefix(p, "github.com/caddyserver/caddy/"):
			t.Errorf("cmd/roomgate imports %s, which xcaddy builds do not", p)
		default:
			ours = append(ours, p)
		}
	}
	slices.Sort(with)
	slices.Sort(ours)
	if !slices.Equal(with, ours) || len(ours) == 0 {
		t.Fatalf("xcaddy.Dockerfile builds --with %v; cmd/roomgate imports %v", with, ours)
	}

	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`github.com/caddyserver/caddy/v2 v(\S+)`).FindSubmatch(gomod)
	got := regexp.MustCompile(`ARG CADDY_VERSION=(\S+)`).FindSubmatch(df)
	if want == nil || got == nil || string(want[1]) != string(got[1]) {
		t.Fatalf("Caddy %s in go.mod, %s in the Dockerfile", want, got)
	}

	// What those packages add to Caddy's standard modules.
	out, err := caddyrun.Run(t, "list-modules", "--skip-standard")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var mods []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, " ") {
			mods = append(mods, l)
		}
	}
	slices.Sort(mods)
	if w := []string{"admin.api.roomgate_drain", "http.handlers.roomgate", "mediaserver", "roomgate_cluster", "turn"}; !slices.Equal(mods, w) {
		t.Fatalf("non-standard modules %q, want %q", mods, w)
	}
}
