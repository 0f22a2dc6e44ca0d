package accesstoken

import (
	"errors"
	"testing"
	"time"
)

// An owner pass is for one room, expires, and is neither an admission nor a
// rejoin pass (nor they one).
func TestOwnerPassIsItsOwnKind(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	m := NewAdmissions(testSecret, fixedClock(now))
	pass, p, err := m.MintOwnerPass("standup")
	if err != nil || p.Room != "standup" || !p.ExpiresAt.Time.Equal(now.Add(OwnerPassTTL)) {
		t.Fatalf("minting: %+v %v", p, err)
	}
	if got, err := m.VerifyOwnerPass(pass); err != nil || got.Room != "standup" || got.IssuedAt.Time.Unix() != now.Unix() {
		t.Fatalf("verifying: %+v %v", got, err)
	}
	if _, err := m.VerifyRejoin(pass); err == nil {
		t.Fatal("an owner pass passed for a rejoin pass")
	}
	if _, err := m.Verify(pass); err == nil {
		t.Fatal("an owner pass passed for an admission")
	}
	rejoin, _, _ := m.MintRejoin("standup", "")
	if _, err := m.VerifyOwnerPass(rejoin); err == nil {
		t.Fatal("a rejoin pass passed for an owner pass")
	}
	later := NewAdmissions(testSecret, fixedClock(now.Add(OwnerPassTTL+Leeway+time.Second)))
	if _, err := later.VerifyOwnerPass(pass); !errors.Is(err, ErrExpired) {
		t.Fatalf("an expired pass: %v", err)
	}
	if _, _, err := m.MintOwnerPass("a/b"); err == nil {
		t.Fatal("a pass for a room name that cannot be")
	}
}

// Only a guest the gateway says may own a room brings an owner pass.
func TestAdmissionOwnershipIsForGuests(t *testing.T) {
	m := NewAdmissions(testSecret, nil)
	for _, a := range []Admission{
		{Room: "standup", Role: PeerGuest, OwnerPassMillis: 1},
		{Room: "standup", Role: PeerHost, MayOwn: true},
		{Room: "standup", Role: PeerLobby, MayOwn: true, OwnerPassMillis: 1},
	} {
		a.Subject = "p"
		if _, err := m.Mint(a); err == nil {
			t.Errorf("minted %+v", a)
		}
	}
	ok := Admission{Room: "standup", Role: PeerGuest, MayOwn: true, OwnerPassMillis: 1}
	ok.Subject = "p"
	if _, err := m.Mint(ok); err != nil {
		t.Fatal(err)
	}
}
