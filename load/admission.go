package load

import (
	"net/http"
	"sync"
	"time"
)

// upgradeTimer is the HTTP transport of every signalling dial: it times
// each WebSocket upgrade from the request to the answer's headers, which is
// the gateway's whole admission (its checks against the shared state, the
// admission it mints, the node's answer through the proxy).
type upgradeTimer struct {
	next http.RoundTripper

	mu       sync.Mutex
	admitted []time.Duration // upgrades answered 101
	refused  int             // answered otherwise, or not at all
}

func (u *upgradeTimer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Upgrade") == "" {
		return u.next.RoundTrip(req) // a token from the REST API
	}
	start := time.Now()
	res, err := u.next.RoundTrip(req)
	d := time.Since(start)
	u.mu.Lock()
	if err == nil && res.StatusCode == http.StatusSwitchingProtocols {
		u.admitted = append(u.admitted, d)
	} else {
		u.refused++
	}
	u.mu.Unlock()
	return res, err
}

// figures returns the upgrade times so far and the refusals.
func (u *upgradeTimer) figures() ([]time.Duration, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Duration(nil), u.admitted...), u.refused
}
