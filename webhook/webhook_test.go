package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSignedDeliveriesVerifyAndTamperedOnesDoNot(t *testing.T) {
	s, err := ParseSecret("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"host.login"}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", "1800000000")
	h.Set("webhook-signature", "v1,bogus "+s.Sign("msg_1", now, body))
	if err := s.Verify(h, body, now, 5*time.Minute); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	for name, tamper := range map[string]func(http.Header, *[]byte){
		"body":      func(_ http.Header, b *[]byte) { *b = []byte(`{"type":"host.logout"}`) },
		"id":        func(h http.Header, _ *[]byte) { h.Set("webhook-id", "msg_2") },
		"timestamp": func(h http.Header, _ *[]byte) { h.Set("webhook-timestamp", "1800000001") },
	} {
		h2, b := h.Clone(), append([]byte(nil), body...)
		tamper(h2, &b)
		if s.Verify(h2, b, now, 5*time.Minute) == nil {
			t.Errorf("a delivery with its %s changed verified", name)
		}
	}
	if s.Verify(h, body, now.Add(time.Hour), 5*time.Minute) == nil {
		t.Error("an old delivery verified")
	}
	if other, _ := ParseSecret(strings.Repeat("x", 32)); other.Verify(h, body, now, 5*time.Minute) == nil {
		t.Error("another secret verified the delivery")
	}
}

func TestSecretsAreLongEnoughAndNeverRepeated(t *testing.T) {
	for _, bad := range []string{"short", "whsec_!!notbase64", "whsec_" + "c2hvcnQ="} {
		_, err := ParseSecret(bad)
		if err == nil {
			t.Errorf("%q was taken", bad)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}

func TestRetryBacksOffAndGivesUp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	d := &Delivery{Created: now}
	var last time.Duration
	for i := range 30 {
		if !Retry(d, now, time.Hour) {
			t.Fatalf("gave up after %d tries", i)
		}
		wait := d.NotBefore.Sub(now)
		if wait <= 0 || wait > time.Hour {
			t.Fatalf("try %d waits %v", i, wait)
		}
		last = wait
	}
	if last < 30*time.Minute {
		t.Fatalf("after 30 tries the wait is %v, not near the hour", last)
	}
	if Retry(d, now.Add(GiveUpAfter+time.Second), time.Hour) {
		t.Fatal("a delivery older than GiveUpAfter was kept")
	}
}
