package mediaserver

import (
	"slices"
	"time"

	"github.com/roomgate/roomgate/mediaserver/bwe"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// estimate is what the allocation reads of a subscriber's estimator
// (mediaserver/bwe); tests set it by hand.
type estimate interface{ Stats() bwe.Stats }

// allocation is one subscriber's state between rounds; only its
// allocation goroutine touches it.
type allocation struct {
	lastEstimate   int
	lastFall       time.Time
	lastCongestion time.Time // when a fall last moved a video down
	// lastLimit is when a fall with loss last moved a video down: a link
	// that showed its limit. (Without loss it may be a busy machine on the
	// way, whose delay passes.)
	lastLimit time.Time
	overSince time.Time // since when even the lowest layers do not fit
	pausing   bool      // videos may be paused (see allocate)
	probeAt   time.Time // when the last probe started
	probeBase int       // the estimate when the probes now held began
	// probeFrom is what the feedback had reported when the last probe
	// began (the link's loss then up to pauseLoss): a probe is judged on
	// what came after.
	probeFrom   bwe.Mark
	probeFailed time.Time // when probes last failed
	held        bool      // the last probe held, and no other began since
	probeWait   time.Duration
	audioOnly   bool
	paused      []string
	connection  connectionLevel
	// probed are the layers probes gave, kept until they fail, the estimate
	// catches up with them, or they hold for probeHold (then floors).
	probed map[*binding]int
	// floors are the layers known to fit (sent before a probe, or given by
	// one that held), kept whatever the estimate says after a failed probe,
	// until the estimate falls again of its own or the link goes on losing
	// pauseLoss for 2 s.
	floors     map[*binding]int
	floorsAt   time.Time // when a floor was last set
	lossySince time.Time // since when the link loses pauseLoss or more
	// padProbe is the probe padding now, if any; pad sends the padding.
	padProbe *padProbe
	pad      padder
	loss     lossWindow
}

// applyChoices puts a round's choices into effect: the layers wanted, the
// subscriber told of paused videos and its connection, the padding set.
func (p *Peer) applyChoices(st *allocation, video []*choice, loss float64, now time.Time) {
	var paused []string
	audioOnly, lowered := false, false
	for _, c := range video {
		if c.chosen < sentUpTo(c) {
			lowered = true
		}
		if c.chosen != c.current {
			c.b.want.Store(int32(c.chosen))
			if c.chosen >= 0 {
				c.t.ask(c.chosen)
			}
		}
		if c.chosen < 0 && c.want >= 0 {
			paused = append(paused, c.t.streamID)
		}
	}
	if len(paused) > 0 && len(paused) == countWanted(video) {
		audioOnly = true
	}
	slices.Sort(paused)
	if audioOnly != st.audioOnly || !slices.Equal(paused, st.paused) {
		st.audioOnly, st.paused = audioOnly, paused
		p.send(signal.Message{Type: signal.TypeQuality, AudioOnly: &audioOnly, Paused: paused})
	}
	if level, changed := st.connection.update(judgeConnection(loss, len(paused) > 0, lowered), now); changed {
		p.setConnection(level)
	}
	switch pp := st.padProbe; {
	case pp != nil:
		st.pad.set(bwe.ProbeRate(pp.rate, now.Sub(st.probeAt)), pp.on)
	case len(paused) > 0:
		// With its videos paused a subscriber may be sent nothing at all:
		// a trickle keeps its estimate told of the link.
		st.pad.set(keepaliveRate, paddable(video))
	default:
		st.pad.set(0, nil)
	}
}
