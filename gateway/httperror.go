package gateway

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/roomgate/roomgate/cluster"
)

// refusal is an answer that turns someone away: a status, a code a program
// can test, and a sentence for people.
type refusal struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
}

func (e *refusal) Error() string { return e.code + ": " + e.message }

func refuse(status int, code, message string) *refusal {
	return &refusal{status: status, code: code, message: message}
}

// write sends the refusal as SPEC.md's JSON error.
func (e *refusal) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	writeJSON(w, e.status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{e.code, e.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// clusterRetryAfter is what a refusal for want of the shared state asks
// people to wait.
const clusterRetryAfter = 2 * time.Second

// sharedRefusal answers a request that needed the shared state and could
// not have it: nobody is let in on a guess (fail closed).
func sharedRefusal(err error) *refusal {
	if errors.Is(err, cluster.ErrFull) {
		return &refusal{status: http.StatusServiceUnavailable, code: "limit_reached",
			message: "a limit of the shared state is reached; try again later", retryAfter: time.Minute}
	}
	return &refusal{status: http.StatusServiceUnavailable, code: "cluster_unavailable",
		message: "the service cannot check access right now; try again in a moment", retryAfter: clusterRetryAfter}
}
