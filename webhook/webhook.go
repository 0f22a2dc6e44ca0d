// Package webhook signs and delivers roomgate's event notifications the
// way the Standard Webhooks specification says (webhook-id,
// webhook-timestamp, webhook-signature: HMAC-SHA256 of "id.timestamp.body"
// with the shared secret), decides when a failed delivery is tried again,
// and delivers them (outbox.go): queues per receiver and room in the shared
// state (cluster.Store), retries, and a copy for a restart handed to
// whoever keeps it. It knows nothing of Caddy, of rooms' rules or of who
// may enter: the gateway hands it events.
//
// It must never put the signing secret in a request, an error or a log.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Secret is a signing secret: the bytes behind a "whsec_…" string.
type Secret []byte

// ParseSecret reads "whsec_<base64>" (as Standard Webhooks libraries
// print them) or, without the prefix, takes the string's bytes; at least
// 24 bytes either way. The error never repeats the secret.
func ParseSecret(s string) (Secret, error) {
	if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, errors.New("a whsec_ secret must be base64 after the prefix")
		}
		s = string(b)
	}
	if len(s) < 24 {
		return nil, fmt.Errorf("the webhook secret is %d bytes; it must be at least 24", len(s))
	}
	return Secret(s), nil
}

// Sign is the webhook-signature header's value for one delivery.
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, s)
	fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery's headers against the body, as a receiver does:
// one of the space-separated v1 signatures must match, and the timestamp
// be within tolerance of now.
func (s Secret) Verify(h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || err != nil || sigs == "" {
		return errors.New("the webhook headers are missing or malformed")
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return errors.New("the webhook timestamp is too far from now")
	}
	want := s.Sign(id, ts, body)
	for _, got := range strings.Fields(sigs) {
		if hmac.Equal([]byte(got), []byte(want)) {
			return nil
		}
	}
	return errors.New("no webhook signature matches")
}

// Delivery is one event for one receiver.
type Delivery struct {
	ID       string    `json:"id"` // the webhook-id: the same on every try
	URL      string    `json:"url"`
	Body     []byte    `json:"body"`
	Created  time.Time `json:"created"`
	Attempts int       `json:"attempts"`
	// NotBefore is when the next try may go.
	NotBefore time.Time `json:"notBefore,omitzero"`
}

// Send makes one try. A 2xx answer delivers; anything else, or no answer
// within the client's timeout, is a failure to try again.
func (s Secret) Send(ctx context.Context, c *http.Client, d *Delivery, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", s.Sign(d.ID, now, d.Body))
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %d", res.StatusCode)
	}
	return nil
}

// Retry decides after a failed try: when to try again (a random wait up
// to twice the last, from a second up to max), or false when the delivery
// is older than GiveUpAfter and is dropped.
func Retry(d *Delivery, now time.Time, max time.Duration) bool {
	if now.Sub(d.Created) > GiveUpAfter {
		return false
	}
	d.Attempts++
	wait := min(max, time.Second<<min(d.Attempts-1, 20))
	d.NotBefore = now.Add(wait/2 + rand.N(wait/2+1))
	return true
}

// GiveUpAfter is how long a delivery is tried before it is dropped.
const GiveUpAfter = 25 * time.Hour
