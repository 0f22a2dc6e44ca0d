package signal

import (
	"context"
	"errors"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Simulcast is a track the client publishes in several layers, lowest
// first, as a browser does: one RTP stream per layer, each packet marked
// with the track's mid and the layer's rid so the server can tell them
// apart. The client's API must negotiate those extensions
// (webrtc.ConfigureSimulcastExtensionHeaders).
type Simulcast struct {
	Sender *webrtc.RTPSender
	layers []*webrtc.TrackLocalStaticRTP
	mid    string
	midID  uint8
	ridID  uint8
	// onKeyframe hears the server's keyframe requests, by layer.
	onKeyframe func(layer int)
	mu         sync.Mutex
}

var errNoSimulcast = errors.New("simulcast needs the mid and rid header extensions and at least one layer with a rid")

// PublishSimulcast adds a track made of layers (each with its own rid,
// lowest first) and negotiates it. onKeyframe, if not nil, hears the
// server's keyframe requests, by layer.
func (c *Client) PublishSimulcast(ctx context.Context, onKeyframe func(layer int), layers ...*webrtc.TrackLocalStaticRTP) (*Simulcast, error) {
	if len(layers) == 0 || layers[0].RID() == "" {
		return nil, errNoSimulcast
	}
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	s, err := c.Pub.AddTrack(layers[0])
	if err != nil {
		return nil, err
	}
	for _, l := range layers[1:] {
		if err := s.AddEncoding(l); err != nil {
			return nil, err
		}
	}
	if err := c.negotiatePublish(ctx); err != nil {
		return nil, err
	}
	sim := &Simulcast{Sender: s, layers: layers, onKeyframe: onKeyframe}
	for _, t := range c.Pub.GetTransceivers() {
		if t.Sender() == s {
			sim.mid = t.Mid()
		}
	}
	for _, e := range s.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			sim.midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			sim.ridID = uint8(e.ID)
		}
	}
	if sim.mid == "" || sim.midID == 0 || sim.ridID == 0 {
		return nil, errNoSimulcast
	}
	for i, l := range layers {
		go sim.readRTCP(i, l.RID())
	}
	return sim, nil
}

// WriteRTP sends p on one layer, marked with the mid and the layer's rid.
func (s *Simulcast) WriteRTP(layer int, p *rtp.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := p.Header.SetExtension(s.midID, []byte(s.mid)); err != nil {
		return err
	}
	if err := p.Header.SetExtension(s.ridID, []byte(s.layers[layer].RID())); err != nil {
		return err
	}
	return s.layers[layer].WriteRTP(p)
}

func (s *Simulcast) readRTCP(layer int, rid string) {
	for {
		pkts, _, err := s.Sender.ReadSimulcastRTCP(rid)
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if s.onKeyframe != nil {
					s.onKeyframe(layer)
				}
			}
		}
	}
}
