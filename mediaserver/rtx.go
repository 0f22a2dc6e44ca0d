package mediaserver

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roomgate/roomgate/mediaserver/bwe"
)

// The retransmission stream (RFC 4588). A subscriber that accepts
// video/rtx for a video's codec (pion's default codecs and browsers do) is
// offered a second SSRC for the video, paired with it (a=ssrc-group:FID),
// and gets on it what browsers send there: the packets it NACKed, and
// padding (packets of padding alone, padRTX). A resent packet has its own sequence
// number, the RTX payload type and SSRC, the original's timestamp, marker
// and kept header extensions, and as payload the sequence number the
// subscriber knows the original by (two octets) before the original's
// payload; the receiver puts it back into the video's stream under that
// number. It goes through the binding's writer like the video's packets,
// so transportcc.go numbers it and the estimator counts it.
type rtxStream struct {
	ssrc uint32
	pt   uint8
	seq  uint16 // the next packet's
	buf  []byte // the payload being sent, reused
	// resent counts the retransmissions of the packets NACKed lately, at
	// their sequence number modulo resendSlots (8 kB: made only for a
	// binding with RTX).
	resent *[resendSlots]resendCount
}

type resendCount struct {
	seq  uint16
	n    uint8
	at   int64 // the first, Unix ns
	last int64 // the last, Unix ns
}

// A packet is resent on RTX maxResends times at most, within
// resendMemory. pion's receivers (the Go subscribers, the load tool) put
// a packet that came on RTX back in the stream but not in the log their
// NACKs are made from, and NACK it again every 100 ms until 512 newer
// packets have come: seconds of the same retransmissions, at a low
// layer's rate. Browsers stop at the first that comes, and give up after
// 10 tries. resendSlots is pion's log: two packets it NACKs at once never
// share a count (with fewer, two lost 128 apart reset each other's).
// resendMemory outlasts pion's NACKs of one packet (512 packets: 17 s of a
// low layer at 30 a second; with 5 s, each was resent again every 5 s),
// and is shorter than the numbers take to come round (65 s at 1000
// packets a second). Nor is a packet resent again within the subscriber's
// round trip, as libwebrtc's sender does not: behind a queue the repair
// is still on its way when the next NACK comes, and a second copy of a
// one-packet frame Chromium had put together already ("already received,
// dropping frame") stilled its picture until its keyframe request 3 s
// later.
const (
	maxResends   = 3
	resendSlots  = 512
	resendMemory = 30 * time.Second
)

// resends is the count of seq's retransmissions, forgotten after
// resendMemory.
func (r *rtxStream) resends(seq uint16, now int64) *resendCount {
	s := &r.resent[seq%resendSlots]
	if s.seq != seq || s.n == 0 || now-s.at > int64(resendMemory) {
		*s = resendCount{seq: seq, at: now}
	}
	return s
}

// newRTXStream is the retransmission stream pion allocated the binding, if
// the subscriber accepted one for the codec of payload type apt.
func newRTXStream(ctx webrtc.TrackLocalContext, apt webrtc.PayloadType) rtxStream {
	ssrc := uint32(ctx.SSRCRetransmission())
	if ssrc == 0 {
		return rtxStream{}
	}
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && fmtpApt(c.SDPFmtpLine) == strconv.Itoa(int(apt)) {
			// A random first number, as RFC 3550 has for any stream.
			return rtxStream{ssrc: ssrc, pt: uint8(c.PayloadType), seq: uint16(rand.Uint32()), buf: make([]byte, 0, 1502),
				resent: &[resendSlots]resendCount{}}
		}
	}
	return rtxStream{}
}

// fmtpApt is the apt parameter of an RTX codec's format parameters.
func fmtpApt(fmtp string) string {
	for _, p := range strings.Split(fmtp, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "apt") {
			return v
		}
	}
	return ""
}

// writeRTX sends the packet in b.header and b.payload (load) on the
// retransmission stream. b.mu is held.
func (b *binding) writeRTX() int {
	b.rtx.buf = binary.BigEndian.AppendUint16(b.rtx.buf[:0], b.header.SequenceNumber)
	b.rtx.buf = append(b.rtx.buf, b.payload...)
	b.header.SequenceNumber = b.rtx.seq
	b.rtx.seq++
	b.header.SSRC, b.header.PayloadType = b.rtx.ssrc, b.rtx.pt
	b.header.Padding, b.header.PaddingSize = false, 0
	b.write.WriteRTP(&b.header, b.rtx.buf)
	return len(b.rtx.buf)
}

// padRTX sends about bytes of padding on the retransmission stream: packets
// of padding alone, which receivers count in their feedback and drop (an
// RTX packet without the two octets of an original's number). It resent
// the packets sent last, as libwebrtc's payload padding does, but Chromium
// puts a resent packet of a one-packet frame it has already put together
// into a frame again ("already received, dropping frame", its log says),
// and after some of those decoded nothing until its keyframe request 3 s
// later: the stills behind the 300 kbit/s link. Padding alone needs
// neither the end of a frame nor a place in the video's numbers. It says
// how many packets and bytes went; b.mu is held.
func (b *binding) padRTX(bytes int) (packets, sent int) {
	for packets < bwe.MaxPadBurst && (packets == 0 || bytes-sent >= paddingSize) {
		b.padHeader = rtp.Header{Version: 2, Padding: true, PaddingSize: paddingSize, PayloadType: b.rtx.pt,
			SequenceNumber: b.rtx.seq, Timestamp: b.lastTS, SSRC: b.rtx.ssrc, Extensions: b.padHeader.Extensions[:0]}
		b.rtx.seq++
		b.write.WriteRTP(&b.padHeader, nil)
		packets++
		sent += paddingSize
	}
	return packets, sent
}
