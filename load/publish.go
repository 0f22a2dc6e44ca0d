package load

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// publish sends an audio and a video track of synthetic RTP at the given
// rates until ctx ends: the video shaped like VP8 (a keyframe first, on
// every new connection, and whenever the server asks), in three simulcast
// layers with cfg.Simulcast; the audio with its level, loud in publisher
// turn's two-second turns out of turns, so the room has a changing
// speaker. Every payload ends with the peer's tag. The session publishes
// the audio and plain video again on each connection it comes back on;
// simulcast video, which it does not know, is published again by the
// peer's follower (see follow).
func (p *peer) publish(ctx context.Context, cfg *Config, turn, turns int) error {
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "load")
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.JoinTimeout)
	defer cancel()
	tag := tagOf(p.index)
	if !cfg.Simulcast {
		video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "load")
		if err != nil {
			return err
		}
		if err := p.s.Publish(pctx, audio, video); err != nil {
			return err
		}
		go sendVideo(ctx, p.s, video.WriteRTP, cfg.VideoPPS, cfg.VideoBytes, tag, p.keyframeAsked())
		go sendAudio(ctx, p.s, audio, cfg, turn, turns, tag)
		return nil
	}
	if err := p.s.Publish(pctx, audio); err != nil {
		return err
	}
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range simulcastRIDs {
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "load", webrtc.WithRTPStreamID(rid))
		if err != nil {
			return err
		}
		layers = append(layers, t)
	}
	keys := make([]*atomic.Bool, len(layers))
	for i := range keys {
		keys[i] = &atomic.Bool{}
	}
	var sim atomic.Pointer[signal.Simulcast]
	publishSim := func(ctx context.Context, c *signal.Client) error {
		s, err := c.PublishSimulcast(ctx, func(l int) { keys[l].Store(true) }, layers...)
		if err != nil {
			return err
		}
		sim.Store(s)
		for _, k := range keys {
			k.Store(true) // a new connection: its subscribers need a keyframe
		}
		return nil
	}
	if err := publishSim(pctx, p.s.Client()); err != nil {
		return err
	}
	p.fo.setRepublish(publishSim)
	for i := range layers {
		// The top layer at the configured rate, each one below at a third.
		pps := max(1, cfg.VideoPPS/pow(3, len(layers)-1-i))
		write := func(pkt *rtp.Packet) error { return sim.Load().WriteRTP(i, pkt) }
		go sendVideo(ctx, p.s, write, pps, cfg.VideoBytes, tag, func() bool { return keys[i].Swap(false) })
	}
	go sendAudio(ctx, p.s, audio, cfg, turn, turns, tag)
	return nil
}

// simulcastRIDs are the layers' rids, lowest first, as the browser's.
var simulcastRIDs = []string{"q", "h", "f"}

func pow(b, e int) int {
	n := 1
	for range e {
		n *= b
	}
	return n
}

// keyframeAsked says, at each call, whether the next video packet should
// be a keyframe: on a connection new since the last call, or when the
// server asked for one since (the client counts its PLIs and FIRs).
func (p *peer) keyframeAsked() func() bool {
	var (
		c    *signal.Client
		seen uint64
	)
	return func() bool {
		cur := p.s.Client()
		k := cur.RTCPCounts().KeyframeRequests
		if cur != c || k > seen {
			c, seen = cur, k
			return true
		}
		return false
	}
}

// sendVideo sends one-packet VP8 frames: each starts a frame (so a server
// may switch layers at any keyframe); key, when it says so, makes the
// next one a keyframe. A failed write does not stop it: while the session
// comes back there is nowhere to write to.
func sendVideo(ctx context.Context, s *signal.Session, write func(*rtp.Packet) error, pps, size int, tag uint32, key func() bool) {
	if pps == 0 {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(pps))
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.IntN(1 << 16)), Timestamp: rand.Uint32(), Marker: true},
		Payload: make([]byte, max(size, 2))}
	putTag(pkt.Payload, 2, tag)
	step := 90000 / uint32(pps)
	for {
		select {
		case <-tick.C:
			pkt.SequenceNumber++
			pkt.Timestamp += step
			pkt.Payload[0] = 0x10 // S: a frame starts
			pkt.Payload[1] = 0x01 // P: an inter frame
			if key() {
				pkt.Payload[1] = 0x00
			}
			pkt.Header.Extensions = pkt.Header.Extensions[:0]
			pkt.Header.Extension = false
			write(pkt)
		case <-ctx.Done():
			return
		case <-s.Done():
			return
		}
	}
}

// sendAudio sends audio packets with their level: loud in the publisher's
// turns.
func sendAudio(ctx context.Context, s *signal.Session, t *webrtc.TrackLocalStaticRTP, cfg *Config, turn, turns int, tag uint32) {
	if cfg.AudioPPS == 0 {
		return
	}
	var (
		levelID uint8
		on      *signal.Client
	)
	tick := time.NewTicker(time.Second / time.Duration(cfg.AudioPPS))
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.IntN(1 << 16)), Timestamp: rand.Uint32()},
		Payload: make([]byte, cfg.AudioBytes)}
	putTag(pkt.Payload, 0, tag)
	step := 48000 / uint32(cfg.AudioPPS)
	for {
		select {
		case now := <-tick.C:
			if c := s.Client(); c != on {
				on, levelID = c, audioLevelID(c, t)
			}
			pkt.SequenceNumber++
			pkt.Timestamp += step
			if levelID != 0 {
				level := uint8(127) // silence
				if int(now.Unix()/2)%max(turns, 1) == turn {
					level = 20
				}
				b, _ := rtp.AudioLevelExtension{Level: level, Voice: level < 127}.Marshal()
				pkt.Header.SetExtension(levelID, b)
			}
			t.WriteRTP(pkt)
		case <-ctx.Done():
			return
		case <-s.Done():
			return
		}
	}
}

// audioLevelID is the audio level extension's id as negotiated for t on
// c's publishing connection; 0 if none.
func audioLevelID(c *signal.Client, t webrtc.TrackLocal) uint8 {
	for _, s := range c.Pub.GetSenders() {
		if s.Track() != t {
			continue
		}
		for _, e := range s.GetParameters().HeaderExtensions {
			if e.URI == sdp.AudioLevelURI {
				return uint8(e.ID)
			}
		}
	}
	return 0
}
