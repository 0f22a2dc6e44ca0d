package bwe

// ackedRate is what the link delivered: the bytes the feedback reported
// received, by arrival time, over the last ackedWindow, in buckets: short,
// as a fall is made from it (a link that halved shows it within a quarter
// of a second), long enough to hold a few frames.
const (
	bucketSpan  = 50_000 // µs
	ackedWindow = 5      // buckets: a quarter of a second
)

type ackedRate struct {
	buckets [16]struct {
		index int64
		bytes int
	}
	newest    int64 // the newest arrival, µs
	seen      bool
	firstSeen int64
}

func (a *ackedRate) add(arrival int64, size int) {
	if !a.seen {
		a.seen, a.firstSeen, a.newest = true, arrival, arrival
	}
	idx := floorDiv(arrival, bucketSpan)
	if idx <= floorDiv(a.newest, bucketSpan)-int64(len(a.buckets)) {
		return // older than any bucket
	}
	b := &a.buckets[mod(idx, len(a.buckets))]
	if b.index != idx {
		b.index, b.bytes = idx, 0
	}
	b.bytes += size
	a.newest = max(a.newest, arrival)
}

// rate is the delivered bit rate over the window ending at the newest
// arrival; 0 while less than two buckets' time has been seen.
func (a *ackedRate) rate() float64 {
	if !a.seen {
		return 0
	}
	top := floorDiv(a.newest, bucketSpan)
	from := top - ackedWindow + 1
	start := max(from*bucketSpan, a.firstSeen)
	span := a.newest - start
	if span < 2*bucketSpan {
		return 0
	}
	bytes := 0
	for _, b := range a.buckets {
		if b.index >= from && b.index <= top {
			bytes += b.bytes
		}
	}
	return float64(bytes) * 8 / (float64(span) / 1e6)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func mod(a int64, n int) int {
	m := int(a % int64(n))
	if m < 0 {
		m += n
	}
	return m
}
