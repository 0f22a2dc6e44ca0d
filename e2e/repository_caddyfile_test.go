package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// TestRepositoryCaddyfileGivesAWorkingCall runs the repository's Caddyfile
// as it is, with only its environment placeholders set to free ports.
func TestRepositoryCaddyfileGivesAWorkingCall(t *testing.T) {
	t.Parallel()
	cf, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	port := caddyrun.FreePort(t)
	caddyrun.Start(t, string(cf),
		// As the default, on a free port: any name.
		fmt.Sprintf("ROOMGATE_SITE=http://:%d", port),
		fmt.Sprintf("ROOMGATE_SIGNAL=127.0.0.1:%d", caddyrun.FreePort(t)),
		fmt.Sprintf("ROOMGATE_UDP_PORT=%d", caddyrun.FreePort(t)),
		fmt.Sprintf("ROOMGATE_TCP_PORT=%d", caddyrun.FreePort(t)),
		"ROOMGATE_ICE_IPS=127.0.0.1/32",
		fmt.Sprintf("ROOMGATE_TURN_PORT=%d", caddyrun.FreePort(t)),
	)
	a := newPerson(t, "127.0.0.1", port).mustJoin("standup", joinOpts{name: "Ann"})
	// Bo's network lets nothing through but the TURN server.
	b := newPerson(t, "127.0.0.2", port).mustJoin("standup", joinOpts{name: "Bo", relay: true})
	ra, rb := receive(a), receive(b)
	publishAV(t, a)
	publishAV(t, b)
	if !ra.hears(20, b.ID()) || !rb.hears(20, a.ID()) {
		t.Fatal("the two peers do not hear each other")
	}
}
