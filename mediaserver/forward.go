package mediaserver

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// keyframeInterval is the least time between two keyframe requests sent to
// one publisher for one layer of a track, however many subscribers ask.
const keyframeInterval = 500 * time.Millisecond

// forwardTrack is one published track, with all its layers, and the local
// track every subscriber receives it through. On UDP a subscriber that
// does not read loses only its own packets.
type forwardTrack struct {
	publisher *Peer
	receiver  *webrtc.RTPReceiver
	local     *fanoutTrack
	// reading counts the layers whose packets are being read; the track
	// ends with the last.
	reading atomic.Int32
	// levelID is the audio level extension's id on the publisher's
	// connection (0: none, or not audio); loud counts this window's loud
	// packets (speaker.go).
	levelID uint8
	loud    atomic.Int32
}

// onTrack forwards a track, or one simulcast layer of it, that the peer
// publishes. pion calls it once per layer, as each layer's first packet
// arrives; the first one publishes the track to the room, the last one to
// end takes it away. A peer publishes at most MaxTracksPerPeer tracks at
// once; a track that ends no longer counts.
func (p *Peer) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	ft, first := p.trackOf(remote, receiver)
	if ft == nil {
		p.sendError("too_many_tracks", "this track is over the limit and is not forwarded")
		return
	}
	li := ft.layerOf(remote.RID())
	ft.local.layers[li].ssrc.Store(uint32(remote.SSRC()))
	ft.reading.Add(1)
	if first && !p.room.publish(ft) {
		p.endTrack(ft)
		return
	}
	ft.forward(li, remote)
	if ft.reading.Add(-1) == 0 {
		p.endTrack(ft)
		p.room.unpublish(ft)
	}
}

// trackOf finds or makes the forwardTrack of a receiver: nil when the peer
// already publishes its limit of tracks.
func (p *Peer) trackOf(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) (ft *forwardTrack, first bool) {
	p.tracksMu.Lock()
	defer p.tracksMu.Unlock()
	if ft := p.tracks[receiver]; ft != nil {
		return ft, false
	}
	if len(p.tracks) >= p.s.cfg.MaxTracksPerPeer {
		return nil, false
	}
	var rids []string
	for _, t := range receiver.Tracks() {
		if t.RID() != "" {
			rids = append(rids, t.RID())
		}
	}
	codec := remote.Codec().RTPCodecCapability
	local := newFanoutTrack(codec, p.id+"-"+remote.ID(), signal.StreamID(p.id, remote.StreamID(), p.isScreen(remote.StreamID())), rids)
	local.exts = publisherExtensions(local.kind, receiver.GetParameters().HeaderExtensions)
	ft = &forwardTrack{publisher: p, receiver: receiver, local: local}
	local.askKeyframe = ft.requestKeyframe
	if local.kind == webrtc.RTPCodecTypeAudio {
		ft.levelID = audioLevelID(receiver)
	}
	p.tracks[receiver] = ft
	return ft, true
}

// endTrack forgets a track the peer no longer publishes.
func (p *Peer) endTrack(ft *forwardTrack) {
	p.tracksMu.Lock()
	defer p.tracksMu.Unlock()
	if p.tracks[ft.receiver] == ft {
		delete(p.tracks, ft.receiver)
	}
}

// layerOf is the index of the layer a rid names (0 without simulcast).
func (ft *forwardTrack) layerOf(rid string) int {
	for i, l := range ft.local.layers {
		if l.rid == rid {
			return i
		}
	}
	return 0
}

// forward copies one layer's packets to the subscribers until it ends. It
// allocates nothing per packet: one buffer and one packet are reused
// throughout.
func (ft *forwardTrack) forward(li int, remote *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	bursts := ft.publisher.s.engine.bursts
	var pkt rtp.Packet
	var extensions []rtp.Extension // kept so Unmarshal reuses its array
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		pkt.Header.Extensions = extensions
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		extensions = pkt.Header.Extensions[:0]
		if ft.local.kind == webrtc.RTPCodecTypeAudio && ft.publisher.mutedByAdmin.Load() {
			continue // an admin muted the publisher: its audio goes nowhere
		}
		ft.hear(&pkt)
		bursts.begin()
		ft.local.writeRTP(li, &pkt)
		bursts.end()
	}
}

// startKeyframeInterval is the least time between two keyframe requests
// for subscribers that start to receive a layer: a new subscriber sees
// nothing until a keyframe comes, so it waits at most this long for
// another's request to have been answered, not keyframeInterval.
const startKeyframeInterval = 100 * time.Millisecond

// requestKeyframe asks the publisher for a keyframe of a layer, at most
// once per interval.
func (ft *forwardTrack) requestKeyframe(li int) { ft.requestKeyframeWithin(li, keyframeInterval) }

func (ft *forwardTrack) requestKeyframeWithin(li int, interval time.Duration) {
	if li < 0 || li >= len(ft.local.layers) {
		return
	}
	l := ft.local.layers[li]
	ssrc := l.ssrc.Load()
	now := time.Now().UnixNano()
	last := l.lastKeyframe.Load()
	if ssrc == 0 || now-last < int64(interval) || !l.lastKeyframe.CompareAndSwap(last, now) {
		return
	}
	ft.publisher.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// readRTCP reads a subscriber's RTCP for one track: NACKs are answered from
// the track's history, within the subscriber's budget for retransmissions;
// keyframe requests go up to the publisher for the layer the subscriber
// receives.
func readRTCP(sender *webrtc.RTPSender, ft *forwardTrack, sub *Peer) {
	buf := make([]byte, 1500)
	bursts := ft.publisher.s.engine.bursts
	for {
		n, attrs, err := sender.Read(buf)
		if err != nil {
			return
		}
		// Transport-wide feedback was read and taken out (transportcc.go).
		pkts, err := attrs.GetRTCPPackets(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication:
				ft.requestKeyframe(ft.local.keyframeFor(pkt.MediaSSRC))
			case *rtcp.FullIntraRequest:
				for _, e := range pkt.FIR {
					ft.requestKeyframe(ft.local.keyframeFor(e.SSRC))
				}
			case *rtcp.TransportLayerNack:
				bursts.begin()
				ft.local.resend(pkt, sub.mayResend, sub.roundTrip())
				bursts.end()
			}
		}
	}
}

// senderSSRC is the SSRC a subscriber's sender sends with.
func senderSSRC(s *webrtc.RTPSender) uint32 {
	if enc := s.GetParameters().Encodings; len(enc) > 0 {
		return uint32(enc[0].SSRC)
	}
	return 0
}
