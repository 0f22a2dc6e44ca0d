package mediaserver

import (
	"strings"

	"github.com/pion/sdp/v3"
)

// opusFmtp asks every sender for in-band FEC (a lost packet is rebuilt from
// the next) and DTX (silence costs a packet every 400 ms instead of every
// 20 ms). The server forwards Opus payloads untouched, so both reach the
// other side as the publisher made them.
const opusFmtp = "minptime=10;useinbandfec=1;usedtx=1"

// opusWants are the parameters an answer to a publisher must carry: pion
// answers with the offer's fmtp, and a browser turns DTX on only when the
// far end's description asks for it.
var opusWants = []string{"useinbandfec=1", "usedtx=1"}

// askOpusFECAndDTX adds opusWants to the Opus fmtp of every audio section of
// an answer. An answer it cannot read is returned as it was.
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
		for i, a := range m.Attributes {
			if a.Key != "fmtp" {
				continue
			}
			pt, params, ok := strings.Cut(a.Value, " ")
			if !ok || !opus[pt] {
				continue
			}
			for _, want := range opusWants {
				key, _, _ := strings.Cut(want, "=")
				if !hasFmtpKey(params, key) {
					params += ";" + want
					changed = true
				}
			}
			m.Attributes[i].Value = pt + " " + params
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
