package mediaserver

import (
	"time"

	"github.com/roomgate/roomgate/mediaserver/bwe"
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
