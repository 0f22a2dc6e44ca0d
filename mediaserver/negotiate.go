package mediaserver

import (
	"context"
	"errors"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
	"go.uber.org/zap"
)

// answerPublish answers the peer's offer on the connection it publishes on.
func (p *Peer) answerPublish(offerSDP string) error {
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(offerSDP); err != nil {
		return &protocolError{"bad_sdp", "the offer is not valid SDP"}
	}
	// Only the sections the peer sends on count: one it stopped sending on
	// (a camera turned off: recvonly, inactive, or rejected) is no track.
	// The message size bounds the rest.
	media := 0
	for _, m := range parsed.MediaDescriptions {
		if (m.MediaName.Media == "audio" || m.MediaName.Media == "video") && m.MediaName.Port.Value != 0 && sends(m) {
			media++
		}
	}
	if media > p.s.cfg.MaxTracksPerPeer {
		return &protocolError{"too_many_tracks", "the offer has more tracks than a peer may publish"}
	}
	if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		return &protocolError{"bad_sdp", "the offer was refused: " + err.Error()}
	}
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return &protocolError{"bad_sdp", "no answer fits the offer: " + err.Error()}
	}
	sdp, err := p.setLocal(p.pub, answer)
	if err != nil {
		return err
	}
	// pion refuses a changed local description, and the change concerns only
	// what the publisher sends, so it is made on the copy that goes out.
	p.send(signal.Message{Type: signal.TypeAnswer, PC: signal.PCPublish, SDP: askOpusFECAndDTX(sdp)})
	return nil
}

// negotiate offers the peer its current set of tracks on the connection it
// receives on. While an offer awaits its answer, changes wait for it.
func (p *Peer) negotiate() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.offerPending {
		p.needOffer = true
		return
	}
	p.offerLocked()
}

func (p *Peer) offerLocked() {
	p.needOffer = false
	if len(p.sub.GetTransceivers()) == 0 || p.sub.ConnectionState() == webrtc.PeerConnectionStateClosed {
		return // nothing to receive yet
	}
	offer, err := p.sub.CreateOffer(nil)
	if err != nil {
		p.log.Warn("making an offer", zap.Error(err))
		return
	}
	sdp, err := p.setLocal(p.sub, offer)
	if err != nil {
		if p.ctx.Err() == nil {
			p.log.Warn("setting an offer", zap.Error(err))
		}
		return
	}
	p.offerPending = true
	p.log.Debug("offering tracks", zap.Int("transceivers", len(p.sub.GetTransceivers())))
	p.send(signal.Message{Type: signal.TypeOffer, PC: signal.PCSubscribe, SDP: sdp})
}

// acceptAnswer applies the peer's answer to the server's last offer.
func (p *Peer) acceptAnswer(answerSDP string) error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if !p.offerPending {
		return errOutOfOrder
	}
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answerSDP}); err != nil {
		return &protocolError{"bad_sdp", "the answer was refused: " + err.Error()}
	}
	p.offerPending = false
	if p.sub.ConnectionState() == webrtc.PeerConnectionStateConnected {
		p.startSubscriptions() // else when the connection is up
	}
	if p.needOffer {
		p.offerLocked()
	}
	return nil
}

// setLocal sets a description and waits for candidate gathering, so that the
// SDP sent carries every candidate: with the shared sockets it is quick.
func (p *Peer) setLocal(pc *webrtc.PeerConnection, d webrtc.SessionDescription) (string, error) {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		return "", &protocolError{"bad_sdp", "the description was refused: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(p.ctx, gatherTimeout)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		if p.ctx.Err() != nil {
			return "", p.ctx.Err() // the peer left
		}
		return "", errors.New("gathering candidates took too long")
	}
	return pc.LocalDescription().SDP, nil
}

// sends says whether the offerer sends on a media section.
func sends(m *sdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		if a.Key == "recvonly" || a.Key == "inactive" {
			return false
		}
	}
	return true
}
