package mediaserver

import "github.com/roomgate/roomgate/mediaserver/signal"

// view is how large a subscriber shows a video stream, in device pixels;
// shown false: not shown at all.
type view struct {
	width, height int
	shown         bool
}

// layerFor is the layer a tile of this size needs: the smallest whose
// picture is nearly as wide and as tall as the tile (the page crops
// cameras to fill their tiles); none for a stream not shown. A subscriber that said nothing of the stream (the Go client) gets
// the top layer.
func (t *fanoutTrack) layerFor(v view, said bool) int {
	n := len(t.layers)
	if !said {
		return n - 1
	}
	if !v.shown {
		return -1
	}
	topWidth := int(t.layers[n-1].width.Load())
	if topWidth == 0 {
		topWidth = 1280
	}
	for i, l := range t.layers {
		w := int(l.width.Load())
		if w == 0 {
			w = topWidth >> (n - 1 - i)
		}
		h := w * 9 / 16 // the picture's height is not known; a camera's is near this
		if w*10 >= v.width*8 && h*10 >= v.height*8 {
			return i
		}
	}
	return n - 1
}

// setViews keeps the sizes the peer shows its streams at, and chooses
// layers for them at once.
func (p *Peer) setViews(views []signal.View) {
	m := make(map[string]view, len(views))
	for _, v := range views {
		m[v.Stream] = view{width: v.Width, height: v.Height, shown: v.Width > 0 && v.Height > 0}
	}
	p.viewsMu.Lock()
	p.views = m
	p.viewsMu.Unlock()
	select {
	case p.reallocate <- struct{}{}:
	default:
	}
}

func (p *Peer) viewsNow() map[string]view {
	p.viewsMu.Lock()
	defer p.viewsMu.Unlock()
	return p.views
}
