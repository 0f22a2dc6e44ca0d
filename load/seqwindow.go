package load

// seqWindow remembers which of the newest seqWindowSize extended sequence
// numbers of a track came, so that a packet that comes twice is counted
// once: a retransmission of a packet that was only late, or a repair pion
// asks for again (a packet repaired on RTX never reaches its NACK log).
// Counted twice, such packets made a lossy link's loss read below zero.
type seqWindow struct {
	bits [seqWindowSize / 64]uint64
	top  int64 // the highest number marked; -1: none yet
}

const seqWindowSize = 4096

func newSeqWindow() seqWindow { return seqWindow{top: -1} }

// mark records the extended number ext and says whether it is new: false
// for one marked before, or older than the window.
func (w *seqWindow) mark(ext int64) bool {
	switch {
	case w.top < 0 || ext-w.top >= seqWindowSize:
		clear(w.bits[:])
		w.top = ext
	case ext > w.top:
		for n := w.top + 1; n < ext; n++ {
			w.set(n, false)
		}
		w.top = ext
	case w.top-ext >= seqWindowSize:
		return false
	case w.has(ext):
		return false
	}
	w.set(ext, true)
	return true
}

func (w *seqWindow) has(ext int64) bool {
	i := uint64(ext) % seqWindowSize
	return w.bits[i/64]&(1<<(i%64)) != 0
}

func (w *seqWindow) set(ext int64, on bool) {
	i := uint64(ext) % seqWindowSize
	if on {
		w.bits[i/64] |= 1 << (i % 64)
	} else {
		w.bits[i/64] &^= 1 << (i % 64)
	}
}
