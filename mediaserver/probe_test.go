package mediaserver

import (
	"testing"
	"time"

	"github.com/roomgate/roomgate/mediaserver/bwe"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// fixedEstimate is a bandwidth estimate that says what the test sets.
type fixedEstimate struct {
	bps      int
	overuses int64
	acked    int // what the link delivered lately; a probe's padding needs it
}

func (e *fixedEstimate) Stats() bwe.Stats {
	return bwe.Stats{Target: e.bps, Overuses: e.overuses, Acked: e.acked}
}

// allocationBench is one subscriber receiving two simulcast cameras, with
// an estimate and feedback the test sets, its allocation run by hand. The
// first camera's tile needs its middle layer, the second's its top one, so
// the first comes first in a round (smaller tiles are lowered first and
// probed first).
type allocationBench struct {
	p    *Peer
	est  *fixedEstimate
	st   *allocation
	srcs []*simulcastSource
	subs []*binding
}

func newAllocationBench(t *testing.T, bps int) *allocationBench {
	est := &fixedEstimate{bps: bps, acked: 50_000_000} // the link delivers all it is sent
	room := newRoom(nil, "r")
	p := &Peer{id: "sub", room: room, log: zap.NewNop(), out: make(chan outgoing, 64), estimator: est,
		subs: map[*forwardTrack]subscription{}, resends: rate.NewLimiter(1, 1),
		views: map[string]view{"a~cam": {width: 300, height: 170, shown: true}, "b~cam": {width: 640, height: 360, shown: true}}}
	ab := &allocationBench{p: p, est: est, st: &allocation{pad: newPadder(), probeWait: probeWait, lastFall: time.Now().Add(-time.Minute),
		probed: map[*binding]int{}, floors: map[*binding]int{}}}
	for _, stream := range []string{"a~cam", "b~cam"} {
		src := newSimulcastSource(t)
		src.t.streamID = stream
		src.bind(t)
		b := src.t.bindings[0]
		p.subs[&forwardTrack{local: src.t}] = subscription{ssrc: b.ssrc}
		ab.srcs, ab.subs = append(ab.srcs, src), append(ab.subs, b)
	}
	ab.frames(0, 1, 2)
	return ab
}

// frames sends a frame of every layer of both cameras (keyframes of the
// layers named), as the publishers would between rounds.
func (ab *allocationBench) frames(key ...int) {
	for _, s := range ab.srcs {
		s.frame(key...)
	}
}

// round runs one allocation, the frames of a round before it.
func (ab *allocationBench) round() {
	ab.frames()
	ab.p.allocate(ab.st, time.Now())
}

// report counts feedback as the subscriber would send it.
func (ab *allocationBench) report(received, lost int64) {
	ab.p.feedback.received.Add(received)
	ab.p.feedback.lost.Add(lost)
}

// lossPassed forgets the loss window's samples, as if lossWindowSpan had
// passed since the feedback reported so far, and reports clean feedback
// since.
func (ab *allocationBench) lossPassed() {
	ab.st.loss = lossWindow{}
	ab.st.loss.update(time.Now().Add(-lossWindowSpan/2), &ab.p.feedback)
	ab.report(100, 0)
}

// since moves the current probe's start back by d, as if d had passed.
func (ab *allocationBench) since(d time.Duration) { ab.st.probeAt = ab.st.probeAt.Add(-d) }

func (ab *allocationBench) wants() []int32 {
	return []int32{ab.subs[0].want.Load(), ab.subs[1].want.Load()}
}

func TestAProbeOnALimitedLinkPadsBeforeItMovesAVideoUp(t *testing.T) {
	// Both cameras fit at the low layer only; the link showed its limit.
	ab := newAllocationBench(t, 400_000)
	ab.st.lastLimit = time.Now()
	ab.round()
	if w := ab.wants(); w[0] != 0 || w[1] != 0 {
		t.Fatalf("layers %v, want both at the lowest", w)
	}
	// The first round after the wait starts a probe: padding, no layer up.
	ab.round()
	pp := ab.st.padProbe
	if pp == nil || pp.layer != 1 || ab.st.pad.Rate() <= 0 {
		t.Fatalf("no padding probe for layer 1: %+v, padding at %d", pp, ab.st.pad.Rate())
	}
	if w := ab.wants(); w[0] != 0 || w[1] != 0 {
		t.Fatalf("a video moved up before its padding was carried: %v", w)
	}
	// The estimate grows: on a limited link that alone moves no layer up.
	ab.est.bps = 5_000_000
	ab.round()
	if w := ab.wants(); w[0] != 0 || w[1] != 0 {
		t.Fatalf("the estimate moved a video up on a limited link: %v", w)
	}
	ab.est.bps = 400_000

	// The feedback reports the padding carried: the probed video moves up
	// and holds; the other one stays.
	ab.report(200, 0)
	ab.since(bwe.ProbeTime + bwe.ProbeSettle)
	ab.round()
	if pp.b != ab.subs[0] {
		t.Fatal("the probe is not for the smaller tile's camera")
	}
	if w := ab.wants(); w[0] != 1 || w[1] != 0 || ab.st.probed[pp.b] != 1 {
		t.Fatalf("after the padding was carried: layers %v, want [1 0]; probes %v", w, ab.st.probed)
	}
	// Held for probeHold without loss, the layer is known to fit.
	ab.report(100, 0)
	ab.since(probeHold)
	ab.round()
	if len(ab.st.probed) != 0 || ab.st.floors[pp.b] != 1 || ab.wants()[0] != 1 {
		t.Fatalf("after the hold: probes %v, floors %v, layers %v", ab.st.probed, ab.st.floors, ab.wants())
	}
}

// paddingCarried starts a padding probe on a link that showed its limit,
// and has the feedback report its padding carried, up to the round that
// judges it.
func (ab *allocationBench) paddingCarried(t *testing.T) *padProbe {
	t.Helper()
	ab.st.lastLimit = time.Now()
	ab.round()
	ab.round()
	first := ab.st.padProbe
	if first == nil {
		t.Fatal("no padding probe")
	}
	ab.report(200, 0)
	ab.since(bwe.ProbeTime + bwe.ProbeSettle)
	return first
}

// A probe that held is followed by the next at once, not after another
// wait: on a link that widened, each layer up costs one probe's time.
func TestTheNextProbeFollowsOneThatHeld(t *testing.T) {
	ab := newAllocationBench(t, 400_000)
	first := ab.paddingCarried(t)
	ab.round() // the padding was carried: the layer goes on as media
	ab.report(100, 0)
	ab.since(probeHold)
	ab.round() // it held: a floor
	if ab.st.floors[first.b] != first.layer {
		t.Fatalf("floors %v after the hold", ab.st.floors)
	}
	ab.round()
	if pp := ab.st.padProbe; pp == nil || pp == first {
		t.Fatalf("the round after a probe held started no probe: %+v", pp)
	}
}

// A probe whose layer the estimate caught up with (the padding lifted it)
// held too: the next follows at once, not after another wait (a link that
// widened waited 4 s more for each layer).
func TestTheNextProbeFollowsOneTheEstimateCaughtUpWith(t *testing.T) {
	ab := newAllocationBench(t, 400_000)
	first := ab.paddingCarried(t)
	ab.est.bps = 1_200_000 // the link carried the padding: the estimate rose with it
	ab.round()             // the layer goes on as media, the estimate already covers it
	if w := ab.wants(); w[0] != 1 {
		t.Fatalf("layers %v after the padding was carried", w)
	}
	ab.round()
	if pp := ab.st.padProbe; pp == nil || pp == first || len(ab.st.probed) > 0 {
		t.Fatalf("the round after the estimate caught up with a probe started none: pad %+v, probed %v", pp, ab.st.probed)
	}
}

func TestAProbeWhosePaddingIsLostFailsAndLeavesThePicture(t *testing.T) {
	ab := newAllocationBench(t, 400_000)
	ab.st.lastLimit = time.Now()
	ab.round()
	ab.round()
	if ab.st.padProbe == nil {
		t.Fatal("no padding probe")
	}
	ab.report(80, 20) // 20 % lost since it began
	ab.round()
	if ab.st.padProbe != nil || ab.st.pad.Rate() != 0 || ab.st.probeFailed.IsZero() {
		t.Fatalf("a probe that lost a fifth of its packets went on: %+v", ab.st.padProbe)
	}
	if w := ab.wants(); w[0] != 0 || w[1] != 0 {
		t.Fatalf("layers %v after a failed probe, want both unmoved", w)
	}
	// A probe that pads stills no picture when it fails: the next one
	// waits no more than maxPadProbeWait, however often they failed.
	ab.st.probeWait = maxProbeWait
	ab.round()
	if ab.st.padProbe != nil {
		t.Fatal("a probe began at once after one failed")
	}
	ab.st.probeFailed = ab.st.probeFailed.Add(-maxPadProbeWait)
	ab.st.probeAt = ab.st.probeAt.Add(-maxPadProbeWait)
	ab.lossPassed()
	ab.round()
	if ab.st.padProbe == nil {
		t.Fatalf("no probe %v after the last failed one (its wait says %v)", maxPadProbeWait, ab.st.probeWait)
	}
}

// The estimator tells a growing queue by its delay before anything is
// lost: a probe whose padding brings over-use fails, loss or not.
func TestAProbeThatBringsOveruseFails(t *testing.T) {
	ab := newAllocationBench(t, 400_000)
	ab.st.lastLimit = time.Now()
	ab.round()
	ab.round()
	if ab.st.padProbe == nil {
		t.Fatal("no padding probe")
	}
	ab.report(200, 0) // nothing lost
	ab.est.overuses++
	ab.since(bwe.ProbeTime + bwe.ProbeSettle)
	ab.round()
	if ab.st.padProbe != nil || ab.st.probeFailed.IsZero() {
		t.Fatalf("a probe that brought over-use went on: %+v", ab.st.padProbe)
	}
	if w := ab.wants(); w[0] != 0 || w[1] != 0 {
		t.Fatalf("layers %v after a failed probe, want both unmoved", w)
	}
}

// A fall that moved a video down, without loss, is a limit too: the next
// probe pads rather than sending the layer into the link.
func TestAProbeAfterAFallWithoutLossPads(t *testing.T) {
	ab := newAllocationBench(t, 5_000_000)
	ab.round()
	if w := ab.wants(); w[0] != 1 || w[1] != 2 {
		t.Fatalf("layers %v on a wide link", w)
	}
	ab.est.bps = 400_000 // the estimate falls; the feedback lost nothing
	ab.round()
	if w := ab.wants(); w[0] != 0 || w[1] != 0 {
		t.Fatalf("layers %v after the fall", w)
	}
	if !ab.st.lastLimit.IsZero() {
		t.Fatal("a fall without loss counted as one with it")
	}
	// Past the wait after congestion, the probe pads.
	ab.st.lastCongestion = ab.st.lastCongestion.Add(-congestedProbeWait)
	ab.st.lastFall = ab.st.lastFall.Add(-congestedProbeWait)
	ab.round()
	if pp := ab.st.padProbe; pp == nil || ab.st.pad.Rate() <= 0 || len(ab.st.probed) != 0 {
		t.Fatalf("after a fall without loss the probe sent the layer: padding %+v, probes %v", pp, ab.st.probed)
	}
}

// pausedBench is an allocation whose two videos the link paused: nothing
// fits, and after loss that lasts both videos pause, and padding keeps the
// subscriber's feedback coming.
func pausedBench(t *testing.T) *allocationBench {
	t.Helper()
	ab := newAllocationBench(t, 100_000)
	ab.st.lastLimit, ab.st.lastFall = time.Now(), time.Now() // just fell: no probe yet
	ab.round()
	for range 6 {
		ab.report(50, 50)
		ab.st.overSince = ab.st.overSince.Add(-300 * time.Millisecond)
		if !ab.st.lossySince.IsZero() {
			ab.st.lossySince = ab.st.lossySince.Add(-300 * time.Millisecond)
		}
		ab.round()
	}
	if w := ab.wants(); w[0] != -1 || w[1] != -1 {
		t.Fatalf("layers %v behind a link losing half its packets, want both paused", w)
	}
	if ab.st.pad.Rate() != keepaliveRate || ab.st.pad.on == nil {
		t.Fatalf("a paused subscriber gets padding at %d, want %d", ab.st.pad.Rate(), keepaliveRate)
	}
	return ab
}

// mayProbeNow has the feedback clean, and nothing put off a probe: no
// failure or congestion, the last probe long ago, and the estimate moved
// a moment ago (with every video paused that is noise).
func (ab *allocationBench) mayProbeNow() {
	ab.lossPassed()
	ab.st.lastFall, ab.st.probeFailed, ab.st.lastCongestion = time.Now(), time.Time{}, time.Time{}
	ab.st.probeAt = time.Now().Add(-time.Minute)
}

func TestAPausedVideoIsPaddedAndComesBack(t *testing.T) {
	ab := pausedBench(t)
	// The link widens: the feedback is clean; a probe pads for a video's
	// lowest layer and, carried, brings it back, though the estimate
	// stands still.
	// The estimate of a link carrying a trickle moved 5 % a moment ago: with
	// every video paused that is noise, and puts off no probe.
	ab.est.bps = 200_000
	ab.report(500, 0)
	ab.mayProbeNow()
	ab.round()
	pp := ab.st.padProbe
	if pp == nil || pp.layer != 0 {
		t.Fatalf("no padding probe for a paused video's lowest layer: %+v", pp)
	}
	// Delivered, by the arrival times, with nothing lost: it holds
	// early, not at the probe's end.
	ab.report(100, 0)
	ab.since(bwe.ProbeEarly - 100*time.Millisecond)
	ab.round()
	if pp.b.want.Load() != -1 || ab.st.padProbe == nil {
		t.Fatalf("the paused video came back before bwe.ProbeEarly: layer %d", pp.b.want.Load())
	}
	ab.since(100 * time.Millisecond)
	ab.round()
	if pp.b.want.Load() != 0 {
		t.Fatalf("the probed video's layer is %d after its padding was delivered, want 0", pp.b.want.Load())
	}
}

// No probe begins on a link losing pauseLoss of what is sent: it cannot
// carry more, and each probe's padding put off the pause the loss called
// for (Chromium behind 40 kbit/s, losing 80 %, was probed for a layer up
// every 2.5 s and paused 11 s after the link narrowed; a probe's floor
// also sent a paused video again the round after).
func TestNoProbeBeginsOnALossyLink(t *testing.T) {
	ab := newAllocationBench(t, 100_000)
	ab.st.lastLimit = time.Now()
	ab.st.probeAt = time.Now().Add(-time.Minute) // probes may begin at any round
	paused := false
	for range 12 {
		ab.report(50, 50)
		ab.st.overSince = ab.st.overSince.Add(-300 * time.Millisecond)
		if !ab.st.lossySince.IsZero() {
			ab.st.lossySince = ab.st.lossySince.Add(-300 * time.Millisecond)
		}
		ab.st.floorsAt = ab.st.floorsAt.Add(-300 * time.Millisecond)
		ab.st.probeFailed = ab.st.probeFailed.Add(-maxProbeWait)
		ab.st.lastFall = ab.st.lastFall.Add(-maxProbeWait)
		ab.st.lastCongestion = ab.st.lastCongestion.Add(-maxProbeWait)
		ab.st.probeAt = ab.st.probeAt.Add(-maxProbeWait)
		ab.round()
		if !ab.st.lossySince.IsZero() && (ab.st.padProbe != nil || len(ab.st.probed) > 0) {
			t.Fatalf("a probe (padding %+v, layers %v) began on a link losing half its packets", ab.st.padProbe, ab.st.probed)
		}
		w := ab.wants()
		if paused && (w[0] >= 0 || w[1] >= 0) {
			t.Fatalf("a paused video is sent again (layers %v) with the link losing half its packets; floors %v", w, ab.st.floors)
		}
		paused = w[0] < 0 && w[1] < 0
	}
	if !paused {
		t.Fatalf("layers %v behind a link losing half its packets, want both paused", ab.wants())
	}
}

// A round with too little feedback to judge says nothing of the link's
// loss: it ends no lossy spell (a narrow link reports seldom, and such
// rounds took Chromium behind 40 kbit/s 11 s to pause instead of 2).
func TestTooLittleFeedbackEndsNoLossySpell(t *testing.T) {
	ab := newAllocationBench(t, 100_000)
	ab.round()
	ab.report(50, 50)
	ab.round()
	since := ab.st.lossySince
	if since.IsZero() {
		t.Fatal("a link losing half its packets is not lossy")
	}
	ab.st.loss = lossWindow{} // the window moved past that feedback
	ab.round()
	ab.report(2, 1)
	ab.round()
	if !ab.st.lossySince.Equal(since) {
		t.Fatalf("rounds with 0 and 3 packets reported moved the lossy spell's start from %v to %v", since, ab.st.lossySince)
	}
	ab.report(100, 0)
	ab.round()
	if !ab.st.lossySince.IsZero() {
		t.Fatal("clean feedback did not end the lossy spell")
	}
}

// paddingProbeOnA300kLink has a link that showed its limit, delivering
// 300 kbit/s, begin a padding probe for a layer up.
func paddingProbeOnA300kLink(t *testing.T) (*allocationBench, *padProbe) {
	t.Helper()
	ab := newAllocationBench(t, 400_000)
	ab.st.lastLimit = time.Now()
	ab.est.acked = 300_000
	ab.round()
	ab.round()
	if ab.st.padProbe == nil {
		t.Fatal("no padding probe")
	}
	return ab, ab.st.padProbe
}

// A padding probe holds only if the link delivered, at some moment of it,
// what was sent before and most of the padding, by the packets' arrival
// times. Packets a deep queue holds arrive late but arrive: counted alone
// they made a link of 300 kbit/s look as if it carried 400, and the layer
// then sent into it stilled Chromium's picture.
func TestAProbeWhosePaddingALinkOnlyQueuedFails(t *testing.T) {
	ab, pp := paddingProbeOnA300kLink(t)
	// Every packet arrives, but the link delivers no more than before.
	ab.report(200, 0)
	ab.since(bwe.ProbeTime + bwe.ProbeSettle)
	ab.round()
	if w := ab.wants(); w[0] != 0 || w[1] != 0 || ab.st.padProbe != nil || ab.st.probeFailed.IsZero() {
		t.Fatalf("a probe whose padding the link only queued held: layers %v, probe %+v", w, ab.st.padProbe)
	}
	// The same padding delivered on top of what was sent holds.
	ab.st.probeFailed = ab.st.probeFailed.Add(-maxPadProbeWait)
	ab.st.probeAt = ab.st.probeAt.Add(-maxPadProbeWait)
	ab.round()
	if pp = ab.st.padProbe; pp == nil {
		t.Fatal("no padding probe after the wait")
	}
	ab.est.acked = 300_000 + pp.rate
	ab.report(200, 0)
	ab.since(bwe.ProbeTime + bwe.ProbeSettle)
	ab.round()
	if w := ab.wants(); w[0] != 1 {
		t.Fatalf("a probe whose padding the link delivered did not hold: layers %v", w)
	}
}

// A probe for a layer up is judged at its end, though the link delivered
// its padding, by the arrival times, sooner: a tbf's burst made a 300
// kbit/s link read 380 for a quarter second. (A paused video's may hold
// early: TestAPausedVideoIsPaddedAndComesBack.)
func TestAProbeForALayerUpHoldsOnlyAtItsEnd(t *testing.T) {
	ab, pp := paddingProbeOnA300kLink(t)
	ab.est.acked = 300_000 + pp.rate
	ab.report(100, 0)
	ab.since(bwe.ProbeEarly)
	ab.round()
	if w := ab.wants(); w[0] != 0 || ab.st.padProbe == nil {
		t.Fatalf("a probe for a layer up held before its end: layers %v", w)
	}
	ab.report(100, 0)
	ab.since(bwe.ProbeTime + bwe.ProbeSettle - bwe.ProbeEarly)
	ab.round()
	if w := ab.wants(); w[0] != 1 || ab.st.padProbe != nil {
		t.Fatalf("a probe the link delivered did not hold at its end: layers %v", w)
	}
}

// A padding probe whose layer the estimate gave before the probe was
// judged (its padding lifted the estimate) held: the next follows at once.
// It went on padding to its end, gave nothing, and the next layer waited
// 2 s more (Chromium behind a widened link: 5.8 s to its tile's layer).
func TestAPaddingProbeWhoseLayerTheEstimateGaveFirstHeld(t *testing.T) {
	ab := newAllocationBench(t, 400_000)
	// A fall moved a video down without loss: probes pad first, and the
	// estimate may still move a layer up.
	ab.st.lastCongestion = time.Now().Add(-maxPadProbeWait)
	ab.round()
	ab.round()
	first := ab.st.padProbe
	if first == nil {
		t.Fatal("no padding probe")
	}
	// Half-way through, the estimate covers the first camera's layer up
	// (not the second's).
	ab.est.bps = 1_000_000
	ab.report(20, 0)
	ab.since(bwe.ProbeTime / 2)
	ab.round()
	if w := ab.wants(); w[0] != 1 || w[1] != 0 {
		t.Fatalf("layers %v with the estimate at 1 Mbit/s, want [1 0]", w)
	}
	ab.round()
	if pp := ab.st.padProbe; pp == nil || pp == first || pp.b != ab.subs[1] {
		t.Fatalf("the round after the estimate gave the probed layer, the next probe is %+v, want one for the second camera", pp)
	}
}

// With every video paused, a probe the link starves (it delivers a third
// of what the probe needs, 0.6 s in) fails then, not at its timeout, and
// the next waits pausedProbeWait: behind 40 kbit/s a probe failed 1.2 s
// in and the next came 2 s later, so a link that widened meanwhile waited
// up to 3.2 s for the probe that brings the video back.
func TestAPausedVideosProbeTheLinkStarvesFailsAtOnceAndTheNextComesSooner(t *testing.T) {
	ab := pausedBench(t)
	ab.est.acked = 40_000 // the link still delivers 40 kbit/s
	ab.report(20, 0)
	ab.mayProbeNow()
	ab.round()
	first := ab.st.padProbe
	if first == nil || 3*ab.est.acked >= first.need {
		t.Fatalf("no padding probe for a paused video that 40 kbit/s starves: %+v", first)
	}
	// Its padding queues; the feedback reports what trickles through.
	ab.report(5, 0)
	ab.since(bwe.ProbeTime - 50*time.Millisecond)
	ab.round()
	if ab.st.padProbe != first {
		t.Fatalf("the probe ended before bwe.ProbeTime: %+v", ab.st.padProbe)
	}
	ab.report(2, 0)
	ab.since(50 * time.Millisecond)
	ab.round()
	if ab.st.padProbe != nil || ab.st.probeFailed.IsZero() {
		t.Fatalf("a probe the link starved goes on at bwe.ProbeTime: %+v", ab.st.padProbe)
	}
	if w := ab.wants(); w[0] != -1 || w[1] != -1 {
		t.Fatalf("layers %v after the failed probe, want both paused", w)
	}
	// The next comes pausedProbeWait after it failed, not before.
	back := func(d time.Duration) {
		ab.st.probeFailed = ab.st.probeFailed.Add(-d)
		ab.st.probeAt = ab.st.probeAt.Add(-d)
	}
	back(pausedProbeWait - 100*time.Millisecond)
	ab.round()
	if ab.st.padProbe != nil {
		t.Fatal("the next probe came before pausedProbeWait")
	}
	back(100 * time.Millisecond)
	ab.round()
	if ab.st.padProbe == nil {
		t.Fatalf("no probe pausedProbeWait after the last failed (its wait says %v)", ab.st.probeWait)
	}
}

// A link that delivers twice the estimate, losing nothing, widened: the
// next probe does not wait out the 2 s after the last one failed (nor
// after the fall that failure brought). A link that delivers what it did
// waits.
func TestAProbeFollowsAFailedOneAtOnceWhenTheLinkWidens(t *testing.T) {
	ab, _ := paddingProbeOnA300kLink(t)
	// The probe fails: the link was 300 kbit/s; the estimate falls with it.
	ab.report(50, 50)
	ab.round()
	if ab.st.padProbe != nil || ab.st.probeFailed.IsZero() {
		t.Fatal("the probe on a lossy link did not fail")
	}
	ab.est.bps = 250_000
	ab.lossPassed()
	ab.round()
	if ab.st.padProbe != nil {
		t.Fatal("a probe began right after one failed, on a link delivering what it did")
	}
	// The link widens: its queue empties at more than twice the estimate.
	ab.est.acked = 600_000
	ab.report(100, 0)
	ab.round()
	if ab.st.padProbe == nil {
		t.Fatal("no probe on a link delivering twice the estimate")
	}
}

// A probe whose link delivered, at its peak, nine tenths of what was sent
// before and its padding holds: the measure is noisy by that much. (With
// nineteen twentieths, a probe on a widened link that delivered 99 % of
// its need failed, and the layer up waited 2 s more.)
func TestAProbeTheLinkDeliveredNineTenthsOfHolds(t *testing.T) {
	ab := newAllocationBench(t, 400_000)
	ab.st.lastLimit = time.Now()
	ab.est.acked = 100_000 // less than the layers cost: the probe's base
	ab.round()
	ab.round()
	pp := ab.st.padProbe
	if pp == nil {
		t.Fatal("no padding probe")
	}
	ab.est.acked = (100_000 + pp.rate) * 93 / 100
	ab.report(200, 0)
	ab.since(bwe.ProbeTime + bwe.ProbeSettle)
	ab.round()
	if w := ab.wants(); w[0] != 1 {
		t.Fatalf("a probe whose link delivered 93 %% of what it needs did not hold: layers %v, need %d, peak %d", w, pp.need, pp.peak)
	}
}
