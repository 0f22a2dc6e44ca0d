package mediaserver

import (
	"sync"
	"sync/atomic"
	"time"
)

// layerIdle is how long a layer may send nothing before it counts as
// stopped: browsers stop their top layers when their own link or CPU
// cannot carry them.
const layerIdle = 1500 * time.Millisecond

// layer is one encoding of a published track: the only one, or one of its
// simulcast layers. Its forwarding goroutine writes the counters; the
// subscribers' allocators read them.
type layer struct {
	rid     string
	history *history

	ssrc         atomic.Uint32 // the publisher's SSRC, once packets arrive
	lastKeyframe atomic.Int64  // when a keyframe was last asked for (Unix ns)
	bytes        atomic.Uint64 // received, headers included
	lastPacket   atomic.Int64  // Unix ns
	width        atomic.Int32  // of the last keyframe, when the codec says

	rateMu    sync.Mutex
	rateAt    int64
	rateBytes uint64
	bps       int
}

func newLayer(rid string) *layer { return &layer{rid: rid, history: newHistory()} }

// received counts one packet of size bytes.
func (l *layer) received(size int, now int64) {
	l.bytes.Add(uint64(size))
	l.lastPacket.Store(now)
}

// active says whether the layer sent anything lately.
func (l *layer) active(now int64) bool {
	last := l.lastPacket.Load()
	return last != 0 && now-last < int64(layerIdle)
}

// bitrate is what the layer carried lately, in bits per second: measured
// over at least a second and smoothed (a quarter the new measure), so a
// keyframe does not make a layer look several times as costly as it is
// (measured over half a second and halved, Chromium's quarter-size layer
// read 480 - 820 kbit/s after the keyframes a subscriber's switches asked
// for, which paused it on a 300 kbit/s link that carried it).
// It is 0 for a layer that stopped, or before the first measure.
func (l *layer) bitrate(now int64) int {
	l.rateMu.Lock()
	defer l.rateMu.Unlock()
	if l.rateAt == 0 {
		l.rateAt, l.rateBytes = now, l.bytes.Load()
		return 0
	}
	if d := now - l.rateAt; d >= int64(time.Second) {
		b := l.bytes.Load()
		measured := int(float64(b-l.rateBytes) * 8 * float64(time.Second) / float64(d))
		if l.bps == 0 || d > int64(5*time.Second) {
			l.bps = measured
		} else {
			l.bps = (3*l.bps + measured) / 4
		}
		l.rateAt, l.rateBytes = now, b
	}
	if !l.active(now) {
		return 0
	}
	return l.bps
}
