package bwe

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// pionFeedback is what pion's receiver side sends for arrivals (seq →
// arrival µs; missing ones lost), marshalled.
func pionFeedback(t testing.TB, from uint16, arrivals map[uint16]int64, n int) [][]byte {
	rec := twcc.NewRecorder(7)
	for i := range n {
		seq := from + uint16(i)
		if at, ok := arrivals[seq]; ok {
			rec.Record(9, seq, at)
		}
	}
	var out [][]byte
	for _, p := range rec.BuildFeedbackPacket() {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// The parser reads what pion's parser reads, for every kind of chunk and
// delta: runs, one- and two-bit vectors, small, large and negative deltas,
// across a sequence wrap.
func TestParseFeedbackAgreesWithPion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		from := uint16(rng.IntN(65536))
		n := 1 + rng.IntN(300)
		arrivals := map[uint16]int64{}
		at := int64(1_000_000 + rng.IntN(1<<30))
		for i := range n {
			switch rng.IntN(6) {
			case 0: // lost
				continue
			case 1:
				at += int64(rng.IntN(40_000)) // a large delta
			case 2:
				at -= int64(rng.IntN(5_000)) // a negative one
			default:
				at += int64(rng.IntN(2_000))
			}
			arrivals[from+uint16(i)] = at
		}
		if round%7 == 0 { // long runs of loss and of receipt
			for i := 10; i < min(n, 200); i++ {
				delete(arrivals, from+uint16(i))
			}
		}
		for _, b := range pionFeedback(t, from, arrivals, n) {
			var want rtcp.TransportLayerCC
			if err := want.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			got, count, ok := parseFeedback(b, make([]status, 0, maxStatuses))
			if !ok || count != want.FbPktCount || len(got) != int(want.PacketStatusCount) {
				t.Fatalf("round %d: %d statuses (ok %v); pion read %d", round, len(got), ok, want.PacketStatusCount)
			}
			arrival := int64(want.ReferenceTime) * 64_000
			d := 0
			for i, s := range got {
				if s.seq != want.BaseSequenceNumber+uint16(i) {
					t.Fatalf("round %d: status %d is for %d", round, i, s.seq)
				}
				_, received := arrivals[s.seq]
				if s.received != received {
					t.Fatalf("round %d: %d received %v; sent %v", round, s.seq, s.received, received)
				}
				if !received {
					continue
				}
				arrival += want.RecvDeltas[d].Delta
				d++
				if s.arrival != arrival {
					t.Fatalf("round %d: %d arrived at %d; pion says %d", round, s.seq, s.arrival, arrival)
				}
			}
		}
	}
}

// Hostile feedback: counts that claim more than the packet holds, deltas
// cut short, reserved symbols, lengths that lie, reports of packets never
// sent or reported twice. Nothing panics, nothing grows, and the figures
// stay within their bounds.
func TestHostileFeedbackChangesNothingItShouldNot(t *testing.T) {
	e := New(serverStart)
	now := int64(10 * second)
	for i := range 100 {
		e.Sent(uint16(i), now-int64(100-i)*1_000_000, 1200, Media)
	}
	good := pionFeedback(t, 0, map[uint16]int64{0: 1000, 1: 2000, 2: 3000}, 3)[0]
	header := func(count uint16) []byte {
		b := append([]byte(nil), good[:20]...)
		binary.BigEndian.PutUint16(b[14:], count)
		return b
	}
	cases := map[string][]byte{
		"empty":               {},
		"not feedback":        {0x81, 201, 0, 1, 0, 0, 0, 0},
		"header only":         good[:20],
		"65535 claimed":       append(header(65535), 0x20, 0x00|0x1f, 0xff),          // a run of 8191 small deltas, none there
		"reserved symbol":     append(header(2), 0xff, 0xff, 1, 1),                   // vector of 2-bit symbols, all 3
		"deltas cut short":    append(header(14), 0xbf, 0xff),                        // 14 received, no deltas
		"length beyond bytes": append(append([]byte(nil), good...)[:4], good[4:]...), // fine as is
		"truncated":           good[:len(good)-3],
	}
	cases["length beyond bytes"][3] = 0xff
	for name, pkt := range cases {
		before := e.Stats()
		e.Feedback(pkt, now)
		after := e.Stats()
		if after.Received+after.Lost > before.Received+before.Lost+100 || after.Target < serverStart.Min || after.Target > serverStart.Max {
			t.Errorf("%s: %+v after %+v", name, after, before)
		}
	}
	// Reports of numbers never sent count for nothing; a report of a
	// packet reported before counts once.
	e2 := New(serverStart)
	e2.Sent(5, now-1_000_000, 1200, Media)
	fb := pionFeedback(t, 5, map[uint16]int64{5: 1000, 6: 2000, 7: 3000}, 3)[0]
	e2.Feedback(fb, now)
	e2.Feedback(fb, now+1)
	if st := e2.Stats(); st.Received != 1 || st.Lost != 0 {
		t.Fatalf("one packet sent and reported twice, two never sent: %+v", st)
	}
	// A packet reported lost and then received counts as received.
	e3 := New(serverStart)
	e3.Sent(1, now-2_000_000, 1200, Media)
	e3.Sent(2, now-1_000_000, 1200, Media)
	e3.Feedback(pionFeedback(t, 1, map[uint16]int64{2: 3000}, 2)[0], now)
	e3.Feedback(pionFeedback(t, 1, map[uint16]int64{1: 2500, 2: 3000}, 2)[0], now+1)
	if st := e3.Stats(); st.Received != 2 || st.Lost != 0 {
		t.Fatalf("a late packet: %+v", st)
	}
}

func TestSentAndFeedbackAllocateNothing(t *testing.T) {
	e := New(serverStart)
	fb := pionFeedback(t, 0, map[uint16]int64{0: 1000, 1: 2000, 3: 90_000}, 200)
	now := int64(second)
	seq := uint16(0)
	if n := testing.AllocsPerRun(1000, func() {
		e.Sent(seq, now, 1200, Media)
		seq++
		now += 1_000_000
	}); n != 0 {
		t.Errorf("Sent: %.1f allocations", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		for _, b := range fb {
			e.Feedback(b, now)
		}
	}); n != 0 {
		t.Errorf("Feedback: %.1f allocations", n)
	}
}

func FuzzFeedback(f *testing.F) {
	f.Add(pionFeedback(f, 0, map[uint16]int64{0: 1000, 1: 2000, 2: 300_000}, 3)[0])
	f.Add(pionFeedback(f, 65530, map[uint16]int64{65530: 1000, 2: 5_000_000}, 20)[0])
	f.Fuzz(func(t *testing.T, pkt []byte) {
		e := New(serverStart)
		for i := range 64 {
			e.Sent(uint16(i), int64(i)*1_000_000, 1200, Media)
			e.Sent(uint16(65500+i), int64(i)*1_000_000, 1200, Padding)
		}
		e.Feedback(pkt, 100_000_000)
		e.Feedback(pkt, 200_000_000)
		st := e.Stats()
		if st.Target < serverStart.Min || st.Target > serverStart.Max || st.Received+st.Lost > 128 || st.Received < 0 || st.Lost < 0 {
			t.Fatalf("%+v", st)
		}
		if len(e.statuses) != 0 && cap(e.statuses) != maxStatuses {
			t.Fatal("the status buffer grew")
		}
	})
}
