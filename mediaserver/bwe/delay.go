package bwe

// The delay-based detector: packets are gathered in groups by send time,
// the change of one group's delay over the last (the delay gradient) is
// smoothed and fitted with a line over the last trendWindow groups, and
// the line's slope, scaled, is compared with a threshold that adapts to
// the link's own jitter. A slope above it for overuseTime says the queue
// at the bottleneck grows: over-use. Constants as in the GCC draft and
// libwebrtc's trendline estimator.
const (
	groupSpan        = 5_000_000 // ns: packets sent within it are one group
	burstSpan        = 5_000     // µs: packets arriving within it after a group, sooner than sent, join it
	maxBurst         = 100_000   // µs: a burst is no longer than this
	maxArrivalOffset = 3_000_000 // µs: a jump in arrival times larger than this resets the detector
	trendWindow      = 20
	smoothing        = 0.9
	thresholdGain    = 4.0
	minNumDeltas     = 60
	overuseTime      = 10.0 // ms
	initialThreshold = 12.5 // ms
	minThreshold     = 6.0
	maxThreshold     = 600.0
	kUp              = 0.0087
	kDown            = 0.039
	maxAdaptOffset   = 15.0 // ms
	maxAdaptStep     = 100.0
)

// Usage is what the delay gradient says of the link.
type Usage uint8

const (
	Normal Usage = iota
	Overusing
	Underusing
)

func (u Usage) String() string {
	return [...]string{"normal", "overusing", "underusing"}[u]
}

// group is packets sent within groupSpan of its first.
type group struct {
	firstSent, lastSent       int64 // ns
	firstArrival, lastArrival int64 // µs
	size                      int
	valid                     bool
}

// delayDetector turns each received packet's send and arrival times into
// the link's usage.
type delayDetector struct {
	cur, prev group
	reordered int

	numDeltas      int
	firstArrival   float64 // ms
	accumulated    float64 // ms
	smoothed       float64 // ms
	hist           [trendWindow]struct{ x, y float64 }
	histLen, histI int
	trend          float64
	prevTrend      float64

	threshold      float64
	lastThreshold  float64 // ms, arrival time of the last adaptation; <0: none
	overuseFor     float64 // ms; <0: not over
	overuseCounter int
	usage          Usage
}

func newDelayDetector() delayDetector {
	return delayDetector{threshold: initialThreshold, lastThreshold: -1, overuseFor: -1, firstArrival: -1}
}

// packet takes one received packet, in the order they were sent.
func (d *delayDetector) packet(sent, arrival int64, size int) {
	if !d.cur.valid {
		d.cur = group{firstSent: sent, lastSent: sent, firstArrival: arrival, lastArrival: arrival, size: size, valid: true}
		return
	}
	if sent < d.cur.firstSent {
		return // sent before the group: out of order
	}
	if d.inGroup(sent, arrival) {
		d.cur.lastSent = max(d.cur.lastSent, sent)
		d.cur.lastArrival = max(d.cur.lastArrival, arrival)
		d.cur.size += size
		return
	}
	// A new group starts; the one before is complete.
	if d.prev.valid {
		sendDelta := float64(d.cur.lastSent-d.prev.lastSent) / 1e6 // ms
		arrivalDelta := d.cur.lastArrival - d.prev.lastArrival     // µs
		switch {
		case arrivalDelta-int64(sendDelta*1000) >= maxArrivalOffset:
			// The receiver's clock jumped, or the link stalled for seconds:
			// what came before says nothing of now.
			*d = newDelayDetector()
			d.cur = group{firstSent: sent, lastSent: sent, firstArrival: arrival, lastArrival: arrival, size: size, valid: true}
			return
		case arrivalDelta < 0:
			if d.reordered++; d.reordered >= 3 {
				*d = newDelayDetector()
				d.cur = group{firstSent: sent, lastSent: sent, firstArrival: arrival, lastArrival: arrival, size: size, valid: true}
				return
			}
		default:
			d.reordered = 0
			d.update(float64(arrivalDelta)/1000, sendDelta, float64(d.cur.lastArrival)/1000)
		}
	}
	d.prev = d.cur
	d.cur = group{firstSent: sent, lastSent: sent, firstArrival: arrival, lastArrival: arrival, size: size, valid: true}
}

// inGroup says whether a packet belongs to the current group: sent within
// groupSpan of its first, or arriving in a burst right after it (a queue
// draining sends packets on faster than they were sent), up to maxBurst.
func (d *delayDetector) inGroup(sent, arrival int64) bool {
	if sent-d.cur.firstSent <= groupSpan {
		return true
	}
	arrivalDelta := arrival - d.cur.lastArrival
	propagation := arrivalDelta - (sent-d.cur.lastSent)/1000
	return propagation < 0 && arrivalDelta <= burstSpan && arrival-d.cur.firstArrival < maxBurst
}

// update takes the deltas of one group over the last (ms) and the group's
// arrival time.
func (d *delayDetector) update(recvDelta, sendDelta, arrival float64) {
	delta := recvDelta - sendDelta
	d.numDeltas = min(d.numDeltas+1, 1000)
	if d.firstArrival < 0 {
		d.firstArrival = arrival
	}
	d.accumulated += delta
	d.smoothed = smoothing*d.smoothed + (1-smoothing)*d.accumulated
	d.hist[d.histI] = struct{ x, y float64 }{arrival - d.firstArrival, d.smoothed}
	d.histI = (d.histI + 1) % trendWindow
	d.histLen = min(d.histLen+1, trendWindow)
	if d.histLen == trendWindow {
		if slope, ok := fitSlope(d.hist[:]); ok {
			d.trend = slope
		}
	}
	d.detect(sendDelta, arrival)
}

// fitSlope is the least-squares slope of the points.
func fitSlope(pts []struct{ x, y float64 }) (float64, bool) {
	var sx, sy float64
	for _, p := range pts {
		sx += p.x
		sy += p.y
	}
	mx, my := sx/float64(len(pts)), sy/float64(len(pts))
	var num, den float64
	for _, p := range pts {
		num += (p.x - mx) * (p.y - my)
		den += (p.x - mx) * (p.x - mx)
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

func (d *delayDetector) detect(sendDelta, arrival float64) {
	if d.numDeltas < 2 {
		d.usage = Normal
		return
	}
	modified := float64(min(d.numDeltas, minNumDeltas)) * d.trend * thresholdGain
	switch {
	case modified > d.threshold:
		if d.overuseFor < 0 {
			d.overuseFor = sendDelta / 2
		} else {
			d.overuseFor += sendDelta
		}
		d.overuseCounter++
		if d.overuseFor > overuseTime && d.overuseCounter > 1 && d.trend >= d.prevTrend {
			d.overuseFor, d.overuseCounter = 0, 0
			d.usage = Overusing
		}
	case modified < -d.threshold:
		d.overuseFor, d.overuseCounter = -1, 0
		d.usage = Underusing
	default:
		d.overuseFor, d.overuseCounter = -1, 0
		d.usage = Normal
	}
	d.prevTrend = d.trend
	d.adapt(modified, arrival)
}

// adapt moves the threshold toward the trend: quickly down, slowly up, so
// that the link's own jitter does not read as over-use while a growing
// queue still does; not at all for a trend far above it (a real over-use
// must not raise the bar it is judged by).
func (d *delayDetector) adapt(modified, arrival float64) {
	if d.lastThreshold < 0 {
		d.lastThreshold = arrival
	}
	abs := modified
	if abs < 0 {
		abs = -abs
	}
	if abs > d.threshold+maxAdaptOffset {
		d.lastThreshold = arrival
		return
	}
	k := kUp
	if abs < d.threshold {
		k = kDown
	}
	step := min(max(arrival-d.lastThreshold, 0), maxAdaptStep)
	d.threshold += k * (abs - d.threshold) * step
	d.threshold = min(max(d.threshold, minThreshold), maxThreshold)
	d.lastThreshold = arrival
}
