package accesstoken

import (
	"strings"
	"testing"
	"time"
)

func TestEarlyPassIsOnlyAnEarlyPassAndRunsOut(t *testing.T) {
	s := Secret(strings.Repeat("k", 32))
	now := time.Unix(1_800_000_000, 0)
	adm := NewAdmissions(s, func() time.Time { return now })
	pass, err := adm.MintEarly("standup")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := adm.VerifyEarly(pass); err != nil || got.Room != "standup" {
		t.Fatalf("verify: %+v %v", got, err)
	}
	// Nothing else passes for it, and it passes for nothing else.
	rejoin, _, _ := adm.MintRejoin("standup", "")
	if _, err := adm.VerifyEarly(rejoin); err == nil {
		t.Fatal("a rejoin pass passed for an early pass")
	}
	if _, err := adm.VerifyRejoin(pass); err == nil {
		t.Fatal("an early pass passed for a rejoin pass")
	}
	if _, err := adm.Verify(pass); err == nil {
		t.Fatal("an early pass passed for an admission")
	}
	if _, err := NewIssuer(s, nil).Verify(pass); err == nil {
		t.Fatal("an early pass passed for a peer token")
	}
	if _, err := NewAdmissions(Secret(strings.Repeat("x", 32)), nil).VerifyEarly(pass); err == nil {
		t.Fatal("a pass from another secret was taken")
	}
	if _, err := adm.MintEarly("no room"); err == nil {
		t.Fatal("a pass for a bad room name was made")
	}
	now = now.Add(EarlyTTL + time.Minute)
	if _, err := adm.VerifyEarly(pass); err == nil {
		t.Fatal("a pass past its time was taken")
	}
}
