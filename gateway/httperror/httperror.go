// Package httperror is how every part of the gateway turns someone away:
// SPEC.md's JSON error (a status, a code a program can test, a sentence
// for people), the answer when the shared state cannot be had, and why a
// token failed. It knows nothing of rooms, logins or the API.
package httperror

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
)

// Refusal is an answer that turns someone away.
type Refusal struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when set, is sent as Retry-After (whole seconds, up).
	RetryAfter time.Duration
}

func (e *Refusal) Error() string { return e.Code + ": " + e.Message }

// Refuse makes a Refusal.
func Refuse(status int, code, message string) *Refusal {
	return &Refusal{Status: status, Code: code, Message: message}
}

// Write sends the refusal as SPEC.md's JSON error.
func (e *Refusal) Write(w http.ResponseWriter) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	JSON(w, e.Status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{e.Code, e.Message})
}

// JSON sends v as the answer, never cached or sniffed.
func JSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ClusterRetryAfter is what a refusal for want of the shared state asks
// people to wait.
const ClusterRetryAfter = 2 * time.Second

// Shared answers a request that needed the shared state and could not
// have it: nobody is let in on a guess (fail closed).
func Shared(err error) *Refusal {
	if errors.Is(err, cluster.ErrFull) {
		return &Refusal{Status: http.StatusServiceUnavailable, Code: "limit_reached",
			Message: "a limit of the shared state is reached; try again later", RetryAfter: time.Minute}
	}
	return &Refusal{Status: http.StatusServiceUnavailable, Code: "cluster_unavailable",
		Message: "the service cannot check access right now; try again in a moment", RetryAfter: ClusterRetryAfter}
}

// Token turns a token's verification error into a 401 that says why (the
// error names the rule broken, never the token).
func Token(err error) *Refusal {
	if errors.Is(err, accesstoken.ErrTooLarge) {
		return Refuse(http.StatusRequestEntityTooLarge, "token_too_large", err.Error())
	}
	return Refuse(http.StatusUnauthorized, "invalid_token", err.Error())
}
