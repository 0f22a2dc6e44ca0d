package mediaserver

import (
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// keyframeInterval is the least time between two keyframe requests sent to
// one publisher for one track, however many subscribers ask.
const keyframeInterval = 500 * time.Millisecond

// forwardTrack is one published track and the local track every subscriber
// receives it through. TrackLocalStaticRTP writes each packet to all its
// bindings; on UDP a subscriber that does not read loses only its own packets.
type forwardTrack struct {
	publisher *Peer
	remote    *webrtc.TrackRemote
	local     *webrtc.TrackLocalStaticRTP
	// lastKeyframe is when a keyframe was last asked for (Unix nanoseconds).
	lastKeyframe atomic.Int64
}

// onTrack starts forwarding a track the peer publishes.
func (p *Peer) onTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if int(p.published.Add(1)) > p.s.cfg.MaxTracksPerPeer {
		p.sendError("too_many_tracks", "this track is over the limit and is not forwarded")
		return
	}
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability,
		p.id+"-"+remote.ID(), signal.StreamID(p.id, remote.StreamID()))
	if err != nil {
		p.log.Warn("forwarding a track", zap.Error(err))
		return
	}
	ft := &forwardTrack{publisher: p, remote: remote, local: local}
	if !p.room.publish(ft) {
		return
	}
	ft.forward()
	p.room.unpublish(ft)
}

// forward copies the publisher's packets to the subscribers until the track ends.
func (ft *forwardTrack) forward() {
	buf := make([]byte, 1500)
	for {
		n, _, err := ft.remote.Read(buf)
		if err != nil {
			return
		}
		if _, err := ft.local.Write(buf[:n]); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
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

// readRTCP drains a subscriber's RTCP for one track (the interceptors answer
// NACKs from it) and passes keyframe requests up to the publisher.
func readRTCP(sender *webrtc.RTPSender, ft *forwardTrack) {
	buf := make([]byte, 1500)
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
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				ft.requestKeyframe()
			}
		}
	}
}
