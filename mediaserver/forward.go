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
// one publisher for one track, however many subscribers ask.
const keyframeInterval = 500 * time.Millisecond

// forwardTrack is one published track and the local track every subscriber
// receives it through. On UDP a subscriber that does not read loses only its
// own packets.
type forwardTrack struct {
	publisher *Peer
	remote    *webrtc.TrackRemote
	local     *fanoutTrack
	// lastKeyframe is when a keyframe was last asked for (Unix nanoseconds).
	lastKeyframe atomic.Int64
	// levelID is the audio level extension's id on the publisher's
	// connection (0: none, or not audio); loud counts this window's loud
	// packets (speaker.go).
	levelID uint8
	loud    atomic.Int32
}

// onTrack starts forwarding a track the peer publishes.
func (p *Peer) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	if int(p.published.Add(1)) > p.s.cfg.MaxTracksPerPeer {
		p.sendError("too_many_tracks", "this track is over the limit and is not forwarded")
		return
	}
	local := newFanoutTrack(remote.Codec().RTPCodecCapability, p.id+"-"+remote.ID(), signal.StreamID(p.id, remote.StreamID(), p.isScreen(remote.StreamID())))
	ft := &forwardTrack{publisher: p, remote: remote, local: local}
	if remote.Kind() == webrtc.RTPCodecTypeAudio {
		ft.levelID = audioLevelID(receiver)
	}
	if !p.room.publish(ft) {
		return
	}
	ft.forward()
	p.room.unpublish(ft)
}

// forward copies the publisher's packets to the subscribers until the track
// ends. It allocates nothing per packet: one buffer and one packet are
// reused throughout.
func (ft *forwardTrack) forward() {
	buf := make([]byte, 1500)
	bursts := ft.publisher.s.engine.bursts
	var pkt rtp.Packet
	var extensions []rtp.Extension // kept so Unmarshal reuses its array
	for {
		n, _, err := ft.remote.Read(buf)
		if err != nil {
			return
		}
		pkt.Header.Extensions = extensions
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		extensions = pkt.Header.Extensions[:0]
		ft.hear(&pkt)
		// The publisher's header extensions carry the ids negotiated on its
		// connection, which mean other things on each subscriber's (a
		// transport-cc number read as a MID makes a browser drop the packet).
		// They go; each subscriber's interceptors add their own.
		pkt.Header.Extension, pkt.Header.ExtensionProfile, pkt.Header.Extensions = false, 0, nil
		bursts.begin()
		ft.local.writeRTP(&pkt)
		bursts.end()
	}
}

// requestKeyframe asks the publisher for a keyframe, at most once per interval.
func (ft *forwardTrack) requestKeyframe() {
	now := time.Now().UnixNano()
	last := ft.lastKeyframe.Load()
	if now-last < int64(keyframeInterval) || !ft.lastKeyframe.CompareAndSwap(last, now) {
		return
	}
	ft.publisher.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ft.remote.SSRC())}})
}

// readRTCP reads a subscriber's RTCP for one track: NACKs are answered from
// the track's history, keyframe requests go up to the publisher.
func readRTCP(sender *webrtc.RTPSender, ft *forwardTrack) {
	buf := make([]byte, 1500)
	bursts := ft.publisher.s.engine.bursts
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				ft.requestKeyframe()
			case *rtcp.TransportLayerNack:
				bursts.begin()
				ft.local.resend(pkt)
				bursts.end()
			}
		}
	}
}
