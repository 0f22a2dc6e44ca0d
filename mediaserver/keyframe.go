package mediaserver

import (
	"encoding/binary"
	"strings"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// keyframeStart reports whether an RTP payload is the first packet of a
// keyframe, for the codecs browsers send. A subscriber may only be switched
// from one simulcast layer to another there: every later frame of the new
// layer refers back to it. An unknown codec has no recognisable keyframes,
// so its subscribers are never switched.
func keyframeStart(mime string) func(payload []byte) bool {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		return vp8Keyframe
	case strings.ToLower(webrtc.MimeTypeVP9):
		return vp9Keyframe
	case strings.ToLower(webrtc.MimeTypeH264):
		return h264Keyframe
	case strings.ToLower(webrtc.MimeTypeAV1):
		return av1Keyframe
	}
	return func([]byte) bool { return false }
}

// vp8Frame returns the VP8 frame data of the first packet of a frame (the
// payload descriptor skipped), or nil for any other packet.
func vp8Frame(payload []byte) []byte {
	var p codecs.VP8Packet
	frame, err := p.Unmarshal(payload)
	if err != nil || p.S != 1 || p.PID != 0 || len(frame) == 0 {
		return nil
	}
	return frame
}

// vp8Keyframe: RFC 6386 section 9.1, the P bit of the frame tag is 0.
func vp8Keyframe(payload []byte) bool {
	f := vp8Frame(payload)
	return f != nil && f[0]&0x01 == 0
}

// vp8Width reads the width of a VP8 keyframe from its first packet (RFC
// 6386 section 9.1: the frame tag, a start code, then 14-bit dimensions);
// 0 when the packet is not one.
func vp8Width(payload []byte) int {
	f := vp8Frame(payload)
	if len(f) < 10 || f[0]&0x01 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0
	}
	return int(binary.LittleEndian.Uint16(f[6:8]) & 0x3fff)
}

// vp9Keyframe: the start of a frame that is not inter-predicted, in the
// base spatial layer (RFC 9628 section 4.2).
func vp9Keyframe(payload []byte) bool {
	var p codecs.VP9Packet
	if _, err := p.Unmarshal(payload); err != nil {
		return false
	}
	return p.B && !p.P && p.SID == 0
}

// h264Keyframe finds an IDR slice or a sequence parameter set at the start
// of the packet: a single NAL unit, a STAP-A aggregate or the first
// fragment of an FU-A (RFC 6184 section 5).
func h264Keyframe(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	key := func(nal byte) bool { t := nal & 0x1f; return t == 5 || t == 7 }
	switch typ := payload[0] & 0x1f; typ {
	case 24: // STAP-A: 16-bit sizes, each followed by a NAL unit
		for i := 1; i+2 < len(payload); {
			size := int(binary.BigEndian.Uint16(payload[i:]))
			if size == 0 || i+2+size > len(payload) {
				return false
			}
			if key(payload[i+2]) {
				return true
			}
			i += 2 + size
		}
		return false
	case 28: // FU-A: the start bit, then the fragmented unit's type
		return payload[1]&0x80 != 0 && key(payload[1])
	default:
		return key(payload[0])
	}
}

// av1Keyframe: the N bit of the aggregation header marks the first packet
// of a coded video sequence, which starts with a keyframe (the AV1 RTP
// payload format, section 4.4).
func av1Keyframe(payload []byte) bool {
	return len(payload) > 0 && payload[0]&0x08 != 0
}
