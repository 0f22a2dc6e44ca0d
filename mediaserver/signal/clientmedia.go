package signal

import (
	"context"
	"errors"
	"slices"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// The client's media: publishing and unpublishing tracks, answering the
// server's offers of what to receive, and the RTCP the server sends back.

// Publish adds tracks to what the client sends and negotiates them.
func (c *Client) Publish(ctx context.Context, tracks ...webrtc.TrackLocal) ([]*webrtc.RTPSender, error) {
	return c.publish(ctx, false, tracks)
}

// PublishScreen is Publish for a screen share: the server tells
// subscribers that the tracks' streams are screen shares.
func (c *Client) PublishScreen(ctx context.Context, tracks ...webrtc.TrackLocal) ([]*webrtc.RTPSender, error) {
	return c.publish(ctx, true, tracks)
}

func (c *Client) publish(ctx context.Context, screen bool, tracks []webrtc.TrackLocal) ([]*webrtc.RTPSender, error) {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if screen {
		for _, t := range tracks {
			if !slices.Contains(c.screens, t.StreamID()) {
				c.screens = append(c.screens, t.StreamID())
			}
		}
	}
	var senders []*webrtc.RTPSender
	for _, t := range tracks {
		s, err := c.Pub.AddTrack(t)
		if err != nil {
			return nil, err
		}
		go c.readRTCP(s)
		senders = append(senders, s)
	}
	return senders, c.negotiatePublish(ctx)
}

// Unpublish stops sending a track and negotiates its removal.
func (c *Client) Unpublish(ctx context.Context, s *webrtc.RTPSender) error {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if err := c.Pub.RemoveTrack(s); err != nil {
		return err
	}
	return c.negotiatePublish(ctx)
}

func (c *Client) negotiatePublish(ctx context.Context) error {
	offer, err := c.Pub.CreateOffer(nil)
	if err != nil {
		return err
	}
	sdp, err := setLocal(ctx, c.Pub, offer)
	if err != nil {
		return err
	}
	if err := c.Send(Message{Type: TypeOffer, PC: PCPublish, SDP: sdp, Screens: c.screens}); err != nil {
		return err
	}
	select {
	case m := <-c.answers:
		return c.Pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return errors.New("the signalling connection ended")
	}
}

func (c *Client) answerSubscribe(offerSDP string) error {
	if err := c.Sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		return err
	}
	answer, err := c.Sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	sdp, err := setLocal(c.ctx, c.Sub, answer)
	if err != nil {
		return err
	}
	return c.Send(Message{Type: TypeAnswer, PC: PCSubscribe, SDP: sdp})
}

func setLocal(ctx context.Context, pc *webrtc.PeerConnection, d webrtc.SessionDescription) (string, error) {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		return "", err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// readRTCP reads what the server says about a published track, counting
// its retransmission and keyframe requests.
func (c *Client) readRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				c.nacks.Add(uint64(len(p.Nacks)))
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.keyframeRequests.Add(1)
			}
		}
	}
}

// RTCPCounts are the server's requests about what the client publishes.
type RTCPCounts struct {
	NACKs            uint64 // NACK entries (each asks for one or more packets)
	KeyframeRequests uint64 // PLI and FIR
}

// RTCPCounts says how often the server asked for retransmissions and keyframes.
func (c *Client) RTCPCounts() RTCPCounts {
	return RTCPCounts{NACKs: c.nacks.Load(), KeyframeRequests: c.keyframeRequests.Load()}
}
