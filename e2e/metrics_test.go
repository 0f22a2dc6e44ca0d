package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// metric reads one sample from Caddy's /metrics on the admin endpoint:
// name with its labels as written there (`roomgate_x{reason="quota"}`), or
// -1 when it is absent.
func metric(t testing.TB, in *caddyrun.Instance, name string) float64 {
	t.Helper()
	res, err := http.Get("http://" + in.AdminAddr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	return -1
}
