package mediaserver

import "strings"

// nominalBitrate is counted for a layer not measured yet: the caps the
// browser client gives its layers (docs/signalling.md).
func nominalBitrate(layer, layers int) int {
	return []int{150_000, 500_000, 1_500_000}[max(0, min(2, 2-(layers-1-layer)))]
}

// choice is one video track in a round.
type choice struct {
	t       *fanoutTrack
	b       *binding
	screen  bool
	cost    []int // per layer; 0: the layer is not sent now
	want    int   // the layer the tile needs; -1 none
	chosen  int
	current int
}

// keepOrder orders a round's videos for fit: largest tiles, then screens,
// keep their layers longest. Of equal tiles, one being sent keeps its place
// before one that is not, then the order is by stream: read from a map, the
// paused one of two thumbnails changed every round or two, each change a
// keyframe.
func keepOrder(a, b *choice) int {
	switch {
	case a.screen != b.screen:
		if a.screen {
			return 1
		}
		return -1
	case a.want != b.want:
		return a.want - b.want
	case (a.current >= 0) != (b.current >= 0):
		if a.current >= 0 {
			return -1
		}
		return 1
	}
	return strings.Compare(a.t.streamID, b.t.streamID)
}

// sentUpTo is the highest layer of c, up to the one its tile needs, that
// its publisher sends now: what the subscriber would get on a wide link.
func sentUpTo(c *choice) int {
	for l := min(c.want, len(c.cost)-1); l >= 0; l-- {
		if c.cost[l] > 0 {
			return l
		}
	}
	return -1
}

// total is what the chosen layers cost.
func total(video []*choice, chosen []int) (sum int) {
	for i, c := range video {
		if chosen[i] >= 0 {
			sum += c.cost[chosen[i]]
		}
	}
	return sum
}

func countWanted(video []*choice) (n int) {
	for _, c := range video {
		if c.want >= 0 {
			n++
		}
	}
	return n
}

// fit lowers the wanted layers until their sum fits budget: each step
// lowers the track at the highest layer, the last in the order on ties. A
// track at its lowest layer is paused only while the sum exceeds
// pauseBudget too.
func fit(video []*choice, budget, pauseBudget int) []int {
	chosen := make([]int, len(video))
	total := 0
	for i, c := range video {
		chosen[i] = c.want
		if c.want >= 0 {
			total += c.cost[c.want]
		}
	}
	// first says whether track i is lowered before track w: cameras before
	// screens, then the higher layer, then the later in the order.
	first := func(i, w int) bool {
		if video[i].screen != video[w].screen {
			return !video[i].screen
		}
		return chosen[i] >= chosen[w]
	}
	pick := func(pausing bool) int {
		worst := -1
		for i, c := range video {
			if chosen[i] >= 0 && (pausing || c.below(chosen[i]) >= 0) && (worst < 0 || first(i, worst)) {
				worst = i
			}
		}
		return worst
	}
	for total > budget {
		worst := pick(false)
		if worst < 0 {
			if total <= pauseBudget {
				break
			}
			if worst = pick(true); worst < 0 {
				break
			}
		}
		c := video[worst]
		total -= c.cost[chosen[worst]]
		chosen[worst] = c.below(chosen[worst])
		if chosen[worst] >= 0 {
			total += c.cost[chosen[worst]]
		}
	}
	return chosen
}

// available is the layer nearest to l, at or below it, that is being sent;
// failing that the nearest above; -1 when none is or l is.
func (c *choice) available(l int) int {
	if l < 0 {
		return -1
	}
	for i := min(l, len(c.cost)-1); i >= 0; i-- {
		if c.cost[i] > 0 {
			return i
		}
	}
	return c.above(l)
}

// below is the next layer under l that is being sent, or -1.
func (c *choice) below(l int) int {
	for i := l - 1; i >= 0; i-- {
		if c.cost[i] > 0 {
			return i
		}
	}
	return -1
}

// above is the next layer over l that is being sent, or -1.
func (c *choice) above(l int) int {
	for i := l + 1; i < len(c.cost); i++ {
		if c.cost[i] > 0 {
			return i
		}
	}
	return -1
}
