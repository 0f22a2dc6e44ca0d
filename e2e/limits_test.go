package e2e

import (
	"net/http"
	"testing"
	"time"
)

func TestOneAddressHoldsAtMostItsShareOfConnections(t *testing.T) {
	t.Parallel()
	s := gatewaySite(t, "max_connections_per_address 3", "")
	crowd, other := s.person(t, "127.0.0.2"), s.person(t, "127.0.0.3")
	var open []*signalling
	for range 3 {
		open = append(open, crowd.mustSignal("standup", signalOpts{}))
	}
	if a := crowd.refusedSignal("standup", signalOpts{}, http.StatusTooManyRequests); a.errorCode() != "too_many_connections" {
		t.Fatalf("the fourth from one address: %s", a.body)
	}
	// Another room is no way around it; another address has its own share.
	crowd.refusedSignal("retro", signalOpts{}, http.StatusTooManyRequests)
	other.mustSignal("standup", signalOpts{})
	// A closed connection frees its place.
	open[0].conn.CloseNow()
	if !eventually(5*time.Second, func() bool {
		s, _ := crowd.signal("standup", signalOpts{})
		return s != nil
	}) {
		t.Fatal("no place after a connection closed")
	}
}
