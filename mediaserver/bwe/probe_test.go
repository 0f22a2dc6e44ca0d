package bwe

import (
	"testing"
	"time"
)

func TestAProbeIsJudgedOnTheFeedbackAfterItBegan(t *testing.T) {
	// Before the probe: 1000 packets reported, 20 lost (2 %), 3 over-uses,
	// 50 padding packets sent.
	m := Mark{Received: 980, Lost: 20, Loss: 0.02, Overuses: 3, Padding: 50}
	settled := ProbeTime + ProbeSettle
	for _, c := range []struct {
		name                     string
		received, lost, overuses int64
		padding                  int
		d                        time.Duration
		want                     int
	}{
		{"carried: as many reported as padded, no loss", 980 + 120, 20, 3, 50 + 100, settled, 1},
		{"not known before it settled", 980 + 120, 20, 3, 50 + 100, ProbeTime, 0},
		{"lossy: 8 % lost of what came after, against 2 % before", 980 + 92, 20 + 8, 3, 50 + 100, ProbeTime / 2, -1},
		{"as lossy as before is not lossy", 980 + 98, 20 + 2, 3, 50 + 100, settled, 1},
		{"over-use since it began fails it at once", 980 + 10, 20, 4, 50 + 10, ProbeTime / 4, -1},
		{"too few reported, still waiting", 980 + 50, 20, 3, 50 + 100, settled, 0},
		{"too few reported by twice the probe's time", 980 + 50, 20, 3, 50 + 100, 2 * ProbeTime, -1},
	} {
		if got := m.Carried(c.received, c.lost, c.overuses, c.padding, c.d); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// Fewer than 10 reported: not lossy, whatever was lost.
	if _, lossy := m.Since(980+4, 20+5); lossy {
		t.Error("9 packets reported made a probe lossy")
	}
}

func TestAProbePadsAtHalfItsRateFirstAndNotAtAllWhileSettling(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{{0, 500}, {ProbeTime/2 - 1, 500}, {ProbeTime / 2, 1000}, {ProbeTime - 1, 1000}, {ProbeTime, 0}} {
		if got := ProbeRate(1000, c.d); got != c.want {
			t.Errorf("%v into a probe at 1000: %d, want %d", c.d, got, c.want)
		}
	}
}

func TestThePacerSpreadsItsRateAndOwesNoMoreThanTwoTicks(t *testing.T) {
	p := NewPacer(250) // 2000 bits a packet
	p.Set(200_000, true)
	at := time.Unix(0, 0)
	sent := 0
	for range 21 { // a second, 50 ms apart
		n := p.Due(at, 50*time.Millisecond)
		p.Done(n)
		sent += n
		at = at.Add(50 * time.Millisecond)
	}
	if sent < 95 || sent > 101 || p.Sent() != sent {
		t.Fatalf("a second at 100 packets a second: %d (counted %d)", sent, p.Sent())
	}
	// A tick missed for a second owes two ticks' worth, not a second's.
	if n := p.Due(at.Add(time.Second), 50*time.Millisecond); n > 11 {
		t.Fatalf("after a missed second %d packets are due", n)
	}
	p.Set(0, false)
	if n := p.Due(at.Add(2*time.Second), 50*time.Millisecond); n != 0 {
		t.Fatalf("%d due at rate 0", n)
	}
}

// Padding that resends media comes in packets of any size: what one
// overshoots, the next ticks owe less for.
func TestThePacerCountsBytesSpentInPacketsOfAnySize(t *testing.T) {
	p := NewPacer(250)
	p.Set(200_000, true) // 1250 bytes per 50 ms
	at := time.Unix(0, 0)
	p.Due(at, 50*time.Millisecond)
	at = at.Add(50 * time.Millisecond)
	if n := p.Due(at, 50*time.Millisecond); n != 5 {
		t.Fatalf("%d due", n)
	}
	p.Spent(2, 2400) // two packets of 1200 bytes: 1150 more than due
	if p.Sent() != 2 {
		t.Fatalf("counted %d packets", p.Sent())
	}
	at = at.Add(50 * time.Millisecond)
	if n := p.Due(at, 50*time.Millisecond); n != 0 {
		t.Fatalf("%d due after an overshoot of a tick's worth", n)
	}
	at = at.Add(50 * time.Millisecond)
	if n := p.Due(at, 50*time.Millisecond); n != 5 {
		t.Fatalf("%d due once the overshoot is paid", n)
	}
}
