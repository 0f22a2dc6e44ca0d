package mediaserver

import (
	"math"
	"slices"
	"testing"
	"time"
)

func camera(want int, costs ...int) *choice { return &choice{want: want, cost: costs, current: want} }

func TestFitLowersTheHighestLayersFirstAndScreensLast(t *testing.T) {
	a := camera(2, 150, 500, 1500)
	b := camera(2, 150, 500, 1500)
	s := camera(1, 300, 1200)
	s.screen = true
	video := []*choice{s, a, b}
	for _, tc := range []struct {
		budget int
		want   []int
	}{
		{5000, []int{1, 2, 2}},
		{3300, []int{1, 2, 1}}, // one camera down a layer (the later on a tie)
		{2300, []int{1, 1, 1}}, // both
		{2100, []int{1, 1, 0}}, // one to its lowest
		{1600, []int{1, 0, 0}}, // cameras to their lowest before the screen moves
		{1400, []int{0, 0, 0}}, // then the screen
		{100, []int{0, 0, 0}},  // never paused without loss
	} {
		if got := fit(video, tc.budget, math.MaxInt); !slices.Equal(got, tc.want) {
			t.Errorf("budget %d: %v, want %v", tc.budget, got, tc.want)
		}
	}
	// With loss, cameras are paused before the screen.
	if got := fit(video, 400, 400); !slices.Equal(got, []int{0, -1, -1}) {
		t.Errorf("pausing within 400: %v", got)
	}
	if got := fit(video, 100, 100); !slices.Equal(got, []int{-1, -1, -1}) {
		t.Errorf("pausing within 100: %v", got)
	}
}

func TestFitSkipsLayersNotSent(t *testing.T) {
	// The publisher stopped its middle layer: down from the top goes to the
	// lowest.
	c := camera(2, 150, 0, 1500)
	if got := fit([]*choice{c}, 1000, math.MaxInt); got[0] != 0 {
		t.Fatalf("got layer %d", got[0])
	}
	if c.available(1) != 0 || c.available(2) != 2 || (&choice{cost: []int{0, 0, 1500}}).available(0) != 2 {
		t.Fatal("available picks a layer not sent")
	}
}

func TestLayerForTileSize(t *testing.T) {
	ft := newFanoutTrack(vp8, "v", "p~s", []string{"q", "h", "f"})
	for i, w := range []int32{320, 640, 1280} {
		ft.layers[i].width.Store(w)
	}
	for _, tc := range []struct {
		v    view
		said bool
		want int
	}{
		{view{}, false, 2},                // said nothing: the top
		{view{}, true, -1},                // not shown
		{view{160, 90, true}, true, 0},    // a thumbnail
		{view{390, 220, true}, true, 0},   // a phone's tile: 320 is 82 % of it
		{view{640, 360, true}, true, 1},   // the grid
		{view{975, 335, true}, true, 2},   // a wide stage, cropped: its width rules
		{view{3840, 2160, true}, true, 2}, // larger than any: the top
	} {
		if got := ft.layerFor(tc.v, tc.said); got != tc.want {
			t.Errorf("%+v (said %v): layer %d, want %d", tc.v, tc.said, got, tc.want)
		}
	}
}

// Two thumbnails on a link that carries one: the same one plays round
// after round. The order of equal tiles came from a map, so the paused one
// changed every round or two, and each change asked the publishers for a
// keyframe (Chromium's lowest layer then cost four times its cap).
func TestOfTwoEqualTilesTheSameOneKeepsPlaying(t *testing.T) {
	ab := newAllocationBench(t, 250_000)
	for s := range ab.p.views {
		ab.p.views[s] = view{width: 160, height: 90, shown: true}
	}
	// The link loses what both send, and has for a while: one is paused.
	ab.st.overSince, ab.st.lossySince = time.Now().Add(-2*time.Second), time.Now().Add(-2*time.Second)
	ab.round()
	first := ab.wants()
	if first[0]+first[1] != -1 {
		t.Fatalf("layers %v, want one at the lowest and the other paused", first)
	}
	for range 30 {
		ab.round()
		if w := ab.wants(); !slices.Equal(w, first) {
			t.Fatalf("layers %v after %v: the paused tile changed", w, first)
		}
	}
}
