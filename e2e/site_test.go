package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// testSecret is the master secret of the test sites.
const testSecret = "e2e-test-secret-0123456789abcdef-0123"

var (
	hashOnce sync.Once
	pwHash   string
)

// testPasswordHash is `roomgate hash-password` of "correct horse" at the
// lowest cost, so logins in tests are fast; it also proves that what the
// command prints is what a user line takes.
func testPasswordHash(t testing.TB) string {
	hashOnce.Do(func() {
		out, err := exec.Command(caddyrun.Binary(t), "hash-password", "--plaintext", "correct horse", "--bcrypt-cost", "4").Output()
		if err != nil {
			t.Fatalf("hash-password: %v", err)
		}
		pwHash = strings.TrimSpace(string(out))
	})
	return pwHash
}

const password = "correct horse"

// site is a running roomgate with a gateway in front of an echo upstream.
type site struct {
	*caddyrun.Instance
	port     int
	upstream *echoUpstream
}

// noAPI in a gateway site's words leaves the REST API out; without it, the
// site has the test API key, so every refusal the tests meet is also put
// to POST /api/v1/explain (person.refusedSignal).
const noAPI = "# no api"

// gatewaySite starts roomgate with the given roomgate words (users alice and
// bob are defined with the test password) and global options.
func gatewaySite(t testing.TB, words, global string) *site {
	t.Helper()
	return gatewaySiteWith(t, words, global, "")
}

// gatewaySiteWith is gatewaySite with more directives in the site block.
func gatewaySiteWith(t testing.TB, words, global, siteDirectives string) *site {
	t.Helper()
	up := newEchoUpstream(t, testSecret)
	port := caddyrun.FreePort(t)
	h := testPasswordHash(t)
	if !strings.Contains(words, "api_key") && !strings.Contains(words, noAPI) {
		words += "\n\t\tapi_key " + apiKey
	}
	cf := fmt.Sprintf(`{
	%s
}
http://localhost:%d {
	roomgate {
		secret %s
		user alice %s
		user bob %s rooms standup
		%s
	}
	reverse_proxy /ws %s
	%s
}
`, global, port, testSecret, h, h, words, up.addr(), siteDirectives)
	return &site{Instance: caddyrun.Start(t, cf), port: port, upstream: up}
}

func (s *site) person(t testing.TB, ip string) *person { return newPerson(t, ip, s.port) }
