package mediaserver

import (
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// opusFmtp is the Opus fmtp of the server's offers to subscribers: it asks
// for in-band FEC (a lost packet is rebuilt from the next) and DTX (silence
// costs a packet every 400 ms instead of every 20 ms). The server forwards
// Opus payloads untouched, so both reach the other side as the publisher
// made them.
const opusFmtp = "minptime=10;useinbandfec=1;usedtx=1"

// publishOpusFmtp is the Opus fmtp the connections peers publish on
// register: none. pion keeps an offered codec only if it matches a
// registered one, and an offer's Opus with a parameter the registered one
// sets otherwise (usedtx=0 against usedtx=1, minptime=20 against 10) is only
// a partial match, which pion drops from a section that also offers an exact
// one (G722, PCMU, PCMA): the publisher was answered without Opus. With no
// parameters registered every Opus fmtp matches; the server never offers on
// these connections, so nothing reads this line, and pion answers with the
// offer's fmtp, to which askOpusFECAndDTX adds what it wants.
const publishOpusFmtp = ""

// opusWants are the parameters an answer to a publisher must carry: pion
// answers with the offer's fmtp, and a browser turns DTX on only when the
// far end's description asks for it.
var opusWants = []string{"useinbandfec=1", "usedtx=1"}

// mediaEngineWithOpus is pion's default codecs with Opus at payload type
// 111 and the given fmtp line. Registered first, this Opus takes 111; the
// default one that follows is the same codec and is skipped.
func mediaEngineWithOpus(fmtp string) (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: fmtp},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	return m, nil
}

// askOpusFECAndDTX adds opusWants to the Opus fmtp of every audio section of
// an answer, and gives Opus an fmtp line of them if it has none. An answer it
// cannot read is returned as it was.
func askOpusFECAndDTX(answer string) string {
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(answer)); err != nil {
		return answer
	}
	changed := false
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		opus := opusPayloadTypes(m)
		hasFmtp := map[string]bool{}
		for i, a := range m.Attributes {
			if a.Key != "fmtp" {
				continue
			}
			pt, params, ok := strings.Cut(a.Value, " ")
			if !ok || !opus[pt] {
				continue
			}
			hasFmtp[pt] = true
			for _, want := range opusWants {
				key, _, _ := strings.Cut(want, "=")
				if !hasFmtpKey(params, key) {
					params += ";" + want
					changed = true
				}
			}
			m.Attributes[i].Value = pt + " " + params
		}
		// An offer's Opus without fmtp is answered without one: the line
		// goes after the codec's rtpmap.
		for i := 0; i < len(m.Attributes); i++ {
			a := m.Attributes[i]
			if a.Key != "rtpmap" {
				continue
			}
			pt, _, _ := strings.Cut(a.Value, " ")
			if !opus[pt] || hasFmtp[pt] {
				continue
			}
			hasFmtp[pt] = true
			line := sdp.NewAttribute("fmtp", pt+" "+strings.Join(opusWants, ";"))
			m.Attributes = append(m.Attributes[:i+1], append([]sdp.Attribute{line}, m.Attributes[i+1:]...)...)
			changed = true
		}
	}
	if !changed {
		return answer
	}
	out, err := d.Marshal()
	if err != nil {
		return answer
	}
	return string(out)
}

// opusPayloadTypes are the payload types an audio section maps to Opus.
func opusPayloadTypes(m *sdp.MediaDescription) map[string]bool {
	pts := map[string]bool{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, codec, ok := strings.Cut(a.Value, " ")
		if ok && strings.HasPrefix(strings.ToLower(codec), "opus/") {
			pts[pt] = true
		}
	}
	return pts
}

// hasFmtpKey says whether an fmtp parameter list sets key (whatever to).
func hasFmtpKey(params, key string) bool {
	for _, p := range strings.Split(params, ";") {
		k, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}
