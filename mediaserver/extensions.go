package mediaserver

import (
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// videoOrientationURI is the coordination of video orientation extension
// (3GPP TS 26.114): a phone held upright sends landscape frames and says
// "rotate by 90°"; the receiver turns the picture.
const videoOrientationURI = "urn:3gpp:video-orientation"

// Header extensions a publisher sends that mean the same to every
// subscriber, and are passed on under each subscriber's own id: the audio
// level (the page and other servers choose speakers by it) and the video
// orientation. The rest describe the publisher's hop (transport-wide
// sequence numbers, send times, mid and rid): each subscriber's connection
// gets its own transport-wide numbers from its interceptors, and its SSRCs
// are in its SDP, so it needs neither mid nor rid.
var keptExtensionURIs = map[webrtc.RTPCodecType][]string{
	webrtc.RTPCodecTypeAudio: {sdp.AudioLevelURI},
	webrtc.RTPCodecTypeVideo: {videoOrientationURI},
}

// maxKeptExtensions is the most kept for one kind of track.
const maxKeptExtensions = 2

// keptExtension is one passed-on extension and its id on the publisher's
// connection.
type keptExtension struct {
	uri string
	id  uint8
}

// publisherExtensions lists the kept extensions the publisher negotiated.
func publisherExtensions(kind webrtc.RTPCodecType, negotiated []webrtc.RTPHeaderExtensionParameter) []keptExtension {
	var out []keptExtension
	for _, uri := range keptExtensionURIs[kind] {
		for _, e := range negotiated {
			if e.URI == uri && e.ID > 0 && e.ID < 256 {
				out = append(out, keptExtension{uri: uri, id: uint8(e.ID)})
			}
		}
	}
	return out
}

// subscriberExtensionIDs gives each kept extension the id the subscriber's
// connection negotiated for it, 0 where it did not.
func subscriberExtensionIDs(exts []keptExtension, negotiated []webrtc.RTPHeaderExtensionParameter) (ids [maxKeptExtensions]uint8) {
	for i, k := range exts {
		if i >= maxKeptExtensions {
			break
		}
		for _, e := range negotiated {
			if e.URI == k.uri && e.ID > 0 && e.ID < 256 {
				ids[i] = uint8(e.ID)
			}
		}
	}
	return ids
}

// maxKeptExtensionSize bounds a kept extension's payload, so the history
// can keep it in a fixed array: the audio level and the video orientation
// take one byte each. A longer payload is dropped, from forwarded packets
// and retransmissions alike.
const maxKeptExtensionSize = 16

// keptPayloads are a packet's payloads of the track's kept extensions, in
// the order of its exts; nil where the packet carries none.
type keptPayloads [maxKeptExtensions][]byte

// keptPayloadsOf finds the kept extensions' payloads in a publisher's
// header; they point into it.
func keptPayloadsOf(exts []keptExtension, src *rtp.Header) (v keptPayloads) {
	if !src.Extension {
		return v
	}
	for i, k := range exts {
		if i >= maxKeptExtensions {
			break
		}
		if p := src.GetExtension(k.id); len(p) <= maxKeptExtensionSize {
			v[i] = p
		}
	}
	return v
}

// keptCopy is a copy of keptPayloads in fixed storage; its zero value
// holds none.
type keptCopy struct {
	n   [maxKeptExtensions]uint8 // each payload's length plus one; 0: none
	buf [maxKeptExtensions][maxKeptExtensionSize]byte
}

// set copies v.
func (c *keptCopy) set(v *keptPayloads) {
	for i, p := range v {
		c.n[i] = 0
		if p != nil && len(p) <= maxKeptExtensionSize {
			c.n[i] = uint8(copy(c.buf[i][:], p) + 1)
		}
	}
}

// payloads gives the kept payloads; they point into c.
func (c *keptCopy) payloads() (v keptPayloads) {
	for i, n := range c.n {
		if n > 0 {
			v[i] = c.buf[i][: n-1 : n-1]
		}
	}
	return v
}

// setExtensions puts the kept extensions' payloads v on the binding's
// header, under the subscriber's ids, in the binding's own array (the
// subscriber's interceptors add theirs to it). Forwarded packets and
// retransmissions both go through here, so a retransmission carries the
// same extensions as the packet first did.
func (b *binding) setExtensions(v *keptPayloads) {
	b.header.Extension, b.header.ExtensionProfile = false, 0
	b.header.Extensions = b.extBuf[:0]
	for i, p := range v {
		if p == nil || b.extIDs[i] == 0 {
			continue
		}
		// An id or size the header cannot carry drops that extension only.
		_ = b.header.SetExtension(b.extIDs[i], p)
	}
}
