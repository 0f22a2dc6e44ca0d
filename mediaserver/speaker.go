package mediaserver

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/signal"
)

// The active speaker is decided over windows of speakerWindow: the
// publisher with the most loud packets in a window, if at least
// speakerMinLoud (about 100 ms of speech at 20 ms packets), becomes the
// speaker. So a room hears of a change at most a few times a second, and a
// cough does not take the floor.
const (
	speakerWindow  = 300 * time.Millisecond
	speakerMinLoud = 5
	// speakerLoudLevel is the quietest level, in -dBov (RFC 6464: 0 is the
	// loudest, 127 silence), that counts as speech.
	speakerLoudLevel = 50
)

// speakerState is a room's part in choosing the speaker.
type speakerState struct {
	// windowStart is when the current window began (Unix nanoseconds).
	windowStart atomic.Int64
	// current is the peer id last announced (guarded by the room's mu).
	current string
}

// audioLevelID is the id the publisher's connection gave the audio level
// extension, or 0 when it was not negotiated.
func audioLevelID(receiver *webrtc.RTPReceiver) uint8 {
	if receiver == nil {
		return 0
	}
	for _, e := range receiver.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// hear counts a packet of an audio track towards its publisher's speech and
// closes the window when it is over.
func (ft *forwardTrack) hear(pkt *rtp.Packet) {
	if ft.levelID == 0 {
		return
	}
	if b := pkt.Header.GetExtension(ft.levelID); b != nil {
		var l rtp.AudioLevelExtension
		if l.Unmarshal(b) == nil && l.Level <= speakerLoudLevel {
			ft.loud.Add(1)
		}
	}
	room := ft.publisher.room
	now := time.Now().UnixNano()
	start := room.speaker.windowStart.Load()
	if now-start < int64(speakerWindow) || !room.speaker.windowStart.CompareAndSwap(start, now) {
		return
	}
	room.chooseSpeaker()
}

// chooseSpeaker ends a window: it tells the room when the floor changed hands.
func (r *Room) chooseSpeaker() {
	r.mu.Lock()
	var best *forwardTrack
	var most int32
	for t := range r.tracks {
		if n := t.loud.Swap(0); n > most {
			best, most = t, n
		}
	}
	if best == nil || most < speakerMinLoud || best.publisher.id == r.speaker.current {
		r.mu.Unlock()
		return
	}
	r.speaker.current = best.publisher.id
	r.mu.Unlock()
	r.broadcast(signal.Message{Type: signal.TypeSpeaker, Target: best.publisher.id}, nil)
}
