// Package bwe is the media server's send-side bandwidth estimator: what
// one subscriber's link carries, from the transport-wide congestion
// control feedback (draft-holmer-rmcat-transport-wide-cc-extensions) the
// subscriber sends about the packets it was sent.
//
// It follows Google Congestion Control as the draft
// (draft-ietf-rmcat-gcc) and libwebrtc describe it: packets are grouped
// by send time, a trendline of the delay gradient between groups is
// compared with an adaptive threshold (over-use, normal, under-use), an
// AIMD rate controller moves the delay-based estimate, and a loss-based
// bound holds it back on a link that loses packets. Every figure is
// current after each feedback packet: the work is done inline where the
// feedback is read, with no goroutine or timer of its own.
//
// It knows nothing of pion/webrtc: times are Unix nanoseconds, sizes
// bytes, feedback raw RTCP. A test replays a trace deterministically.
// Nothing is allocated per packet sent or per feedback read; sent
// packets live in a fixed ring indexed by their 16-bit transport-wide
// sequence number.
//
// Probing is here too: how padding is paced (Pacer) and how a probe by
// padding is judged on the feedback after it began (Mark). What to probe
// for (which layer of which track) is the media server's allocation.
package bwe
