package load

import "testing"

func TestSeqWindowCountsEachPacketOnce(t *testing.T) {
	w := newSeqWindow()
	steps := []struct {
		ext  int64
		want bool
		why  string
	}{
		{100, true, "the first"},
		{101, true, "the next"},
		{101, false, "a copy"},
		{105, true, "after a gap"},
		{103, true, "late, within the gap"},
		{103, false, "a second copy of the late one"},
		{100, false, "a copy of the first"},
		{105 + seqWindowSize - 1, true, "far ahead, in the window still"},
		{106, true, "late by nearly the whole window: never came before"},
		{105, false, "the oldest in the window, a copy"},
		{103, false, "older than the window"},
		{105 + 3*seqWindowSize, true, "a jump past the window"},
		{105 + 3*seqWindowSize - 1, true, "just before it, never came"},
		{105 + 3*seqWindowSize, false, "a copy after the jump"},
	}
	for _, s := range steps {
		if got := w.mark(s.ext); got != s.want {
			t.Fatalf("%s (%d): new %v, want %v", s.why, s.ext, got, s.want)
		}
	}
}
