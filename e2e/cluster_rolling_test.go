package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/internal/caddyrun"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// publishTagged publishes a video track of synthetic RTP, 50 packets a
// second, on every connection of the session, until it ends; each packet's
// last payload byte names the publisher: peer ids change when a session
// comes back, the tag does not.
func publishTagged(t testing.TB, s *signal.Session, tag byte) {
	t.Helper()
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "cam")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Publish(ctx, video); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		payload := make([]byte, 200)
		payload[0], payload[len(payload)-1] = 0x10, tag
		for seq := uint16(0); ; seq++ {
			select {
			case <-s.Done():
				return
			case <-tick.C:
			}
			video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 1800, Marker: true}, Payload: payload})
		}
	}()
}

// arrivals notes when each publisher's packets reached one peer, on any
// of its connections.
type arrivals struct {
	mu sync.Mutex
	at map[byte][]time.Time
}

func recordArrivals(s *signal.Session) *arrivals {
	a := &arrivals{at: map[byte][]time.Time{}}
	go func() {
		for {
			select {
			case rt := <-s.Tracks():
				go func() {
					for {
						p, _, err := rt.Track.ReadRTP()
						if err != nil {
							return
						}
						if len(p.Payload) == 0 {
							continue
						}
						now := time.Now()
						a.mu.Lock()
						tag := p.Payload[len(p.Payload)-1]
						a.at[tag] = append(a.at[tag], now)
						a.mu.Unlock()
					}
				}()
			case <-s.Done():
				return
			}
		}
	}()
	return a
}

// heardAfter says whether a packet of every publisher in tags arrived after t.
func (a *arrivals) heardAfter(t time.Time, tags []byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tag := range tags {
		ts := a.at[tag]
		if len(ts) == 0 || !ts[len(ts)-1].After(t) {
			return false
		}
	}
	return true
}

// silentSince lists the publishers of tags heard from last before t.
func (a *arrivals) silentSince(t time.Time, tags []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []byte
	for _, tag := range tags {
		if ts := a.at[tag]; len(ts) == 0 || !ts[len(ts)-1].After(t) {
			out = append(out, tag)
		}
	}
	return out
}

// gap is the longest time, within [from, to], that one of tags sent
// nothing that arrived: the worst of the streams this peer receives.
func (a *arrivals) gap(from, to time.Time, tags []byte) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var worst time.Duration
	for _, tag := range tags {
		last := from
		for _, at := range a.at[tag] {
			if at.Before(from) {
				last = at // the gap runs from the last packet before the step
				continue
			}
			if at.After(to) {
				break
			}
			worst = max(worst, at.Sub(last))
			last = at
		}
		worst = max(worst, to.Sub(last))
	}
	return worst
}

// rejoinTimes notes when each session next comes back.
type rejoinTimes struct {
	mu sync.Mutex
	at []time.Time
}

func watchRejoins(sessions []*signal.Session) *rejoinTimes {
	r := &rejoinTimes{at: make([]time.Time, len(sessions))}
	for i, s := range sessions {
		ch := s.Rejoined()
		go func() {
			select {
			case <-ch:
				r.mu.Lock()
				r.at[i] = time.Now()
				r.mu.Unlock()
			case <-s.Done():
			}
		}()
	}
	return r
}

// since lists, per session, how long after t it came back ("-": it did
// not need to).
func (r *rejoinTimes) since(t time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.at))
	for i, at := range r.at {
		out[i] = "-"
		if !at.IsZero() {
			out[i] = at.Sub(t).Round(10 * time.Millisecond).String()
		}
	}
	return strings.Join(out, " ")
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

// (c): a rolling restart of every node and every gateway, one at a time,
// under a 6-person call: nobody is refused, every peer has media again
// after each step, and each peer's media gap per step is logged. Peers
// are given both gateways, as a load balancer in front of them would.
func TestClusterRollingRestart(t *testing.T) {
	const people = 6
	c := newClusterWith(t, 2, 2, "", "drain_timeout 1s")
	g1, g2 := c.gateways[0], c.gateways[1]
	sessions := make([]*signal.Session, people)
	heard := make([]*arrivals, people)
	for i := range people {
		first, second := g1, g2
		if i%2 == 1 {
			first, second = g2, g1
		}
		sessions[i] = first.person(t, fmt.Sprintf("127.0.0.%d", 2+i)).connectSession(t, "standup", "", first, second)
		publishTagged(t, sessions[i], byte(i))
		heard[i] = recordArrivals(sessions[i])
	}
	others := func(i int) []byte {
		var tags []byte
		for j := range people {
			if j != i {
				tags = append(tags, byte(j))
			}
		}
		return tags
	}
	everyoneHeardAfter := func(t0 time.Time, within time.Duration) bool {
		return eventually(within, func() bool {
			for i, a := range heard {
				if !a.heardAfter(t0, others(i)) {
					return false
				}
			}
			return true
		})
	}
	if !everyoneHeardAfter(time.Now(), 30*time.Second) {
		t.Fatal("the call did not start: not every peer received every other")
	}

	holder := c.pinnedNode(t, "standup")
	steps := []struct {
		name string
		in   *caddyrun.Instance
		node *mediaNode
		live *mediaSite // a gateway that stays up through the step
	}{
		{"node " + holder.id, holder.Instance, holder, g1},
		{"node " + c.otherNode(holder).id, c.otherNode(holder).Instance, c.otherNode(holder), g2},
		{"gateway 1", g1.Instance, nil, g2},
		{"gateway 2", g2.Instance, nil, g1},
	}
	var all []time.Duration
	var report []string
	for k, step := range steps {
		start := time.Now()
		rejoins := watchRejoins(sessions)
		step.in.Stop() // SIGTERM: a node drains, then moves the call; a gateway's connections end
		stopped := time.Now()
		// Nobody is refused meanwhile: a newcomer joins the call through a
		// gateway that is up.
		conn, m, err := step.live.person(t, "127.0.0.20").welcome("standup")
		if err != nil || m.Type != signal.TypeWelcome {
			t.Fatalf("%s: a newcomer during the restart got %+v (%v)", step.name, m, err)
		}
		conn.CloseNow()
		step.in.Restart()
		if step.node != nil {
			if _, live := c.leaseDraining(t, step.node.id); !live {
				t.Fatalf("%s: restarted, but not registered", step.name)
			}
		}
		if !everyoneHeardAfter(stopped, 30*time.Second) {
			for i, a := range heard {
				t.Logf("peer %d (%s), %d joins, not heard since the stop from: %v", i, sessions[i].Client().ID(), sessions[i].Joins(), a.silentSince(stopped, others(i)))
				cl := sessions[i].Client()
				for _, tr := range cl.Sub.GetTransceivers() {
					var got []string
					for _, rt := range tr.Receiver().Tracks() {
						got = append(got, fmt.Sprintf("%d/%s", rt.SSRC(), rt.StreamID()))
					}
					t.Logf("   mid %s dir %s tracks %v", tr.Mid(), tr.Direction(), got)
				}
				t.Logf("   sub %s/%s", cl.Sub.ConnectionState(), cl.Sub.SignalingState())
			}
			t.Fatalf("%s: not every peer had media from every other within 30 s", step.name)
		}
		back := time.Now()
		var gaps []time.Duration
		var each []string
		for i, a := range heard {
			g := a.gap(start, back, others(i))
			gaps = append(gaps, g)
			each = append(each, g.Round(10*time.Millisecond).String())
		}
		all = append(all, gaps...)
		report = append(report, fmt.Sprintf("step %d, %s: p50 %v, max %v (each peer: %s); reconnected %s after the stop began",
			k+1, step.name, quantile(gaps, 0.5).Round(10*time.Millisecond), quantile(gaps, 1).Round(10*time.Millisecond),
			strings.Join(each, " "), rejoins.since(start)))
		for i, s := range sessions {
			select {
			case <-s.Done():
				t.Fatalf("%s: peer %d's session ended: %v %+v", step.name, i, s.Err(), s.Final())
			default:
			}
		}
	}
	if on := c.pinnedNode(t, "standup"); on == nil {
		t.Fatal("the call is on no node")
	}
	for _, line := range report {
		t.Log(line)
	}
	t.Logf("media gap per peer per restart, all %d: p50 %v, max %v", len(all),
		quantile(all, 0.5).Round(10*time.Millisecond), quantile(all, 1).Round(10*time.Millisecond))
	joins := make([]string, people)
	for i, s := range sessions {
		joins[i] = fmt.Sprint(s.Joins())
	}
	t.Logf("connections per peer over the restarts: %s", strings.Join(joins, " "))
}
