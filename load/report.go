package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is what a run measured. Packets, bytes and loss are what the
// subscribers received in the measurement window; NACKs and keyframe
// requests are what the publishers were asked for in it.
type Report struct {
	Scenario string        `json:"scenario"`
	Peers    int           `json:"peers"` // in each room
	Window   time.Duration `json:"window_ns"`
	// Rooms is how many rooms the scenario ran in; Gateways how many
	// gateways people were given to in turn.
	Rooms    int `json:"rooms"`
	Gateways int `json:"gateways"`

	Joins        int           `json:"joins"`
	JoinFailures int           `json:"join_failures"`
	JoinP50      time.Duration `json:"join_p50_ns"`
	JoinP99      time.Duration `json:"join_p99_ns"`

	Packets          uint64  `json:"packets"`
	Bytes            uint64  `json:"bytes"`
	PacketsPerSecond float64 `json:"packets_per_second"`
	MbitPerSecond    float64 `json:"mbit_per_second"`
	Lost             uint64  `json:"lost"`
	LossPercent      float64 `json:"loss_percent"`
	NACKs            uint64  `json:"nacks"`
	KeyframeRequests uint64  `json:"keyframe_requests"`
	// Silent counts subscribers that received nothing in the window.
	Silent int `json:"silent"`
	// SpeakerMessages is how many "speaker" messages the subscribers heard
	// in the window (publishers are loud in turns of two seconds).
	SpeakerMessages uint64 `json:"speaker_messages"`

	// ServerCPU is the server's CPU time in the window; ServerCPUPerPacket
	// that time per packet received. Zero without a server process id.
	ServerCPU          time.Duration `json:"server_cpu_ns"`
	ServerCPUPerPacket time.Duration `json:"server_cpu_per_packet_ns"`

	// Admissions counts the signalling upgrades through the gateways that
	// were answered 101, joins and comebacks alike; AdmissionP50, P99 and
	// Max are their times from the request to the answer (the gateway's
	// checks against the shared state, the admission, the node's answer).
	// UpgradeRefusals counts the upgrades answered otherwise or not at all
	// (a dead node's rooms: 502 until its lease lapses).
	Admissions      int           `json:"admissions"`
	AdmissionP50    time.Duration `json:"admission_p50_ns"`
	AdmissionP99    time.Duration `json:"admission_p99_ns"`
	AdmissionMax    time.Duration `json:"admission_max_ns"`
	UpgradeRefusals int           `json:"upgrade_refusals"`

	// RoomsByMediaAddress counts the rooms on each media node (known by
	// its ICE address) when the window opened; RoomsByMediaAddressAfter
	// after the people who lost their room came back.
	RoomsByMediaAddress      map[string]int `json:"rooms_by_media_address,omitempty"`
	RoomsByMediaAddressAfter map[string]int `json:"rooms_by_media_address_after,omitempty"`

	// FailoverPeers counts the people who lost their room at least once
	// (their signalling ended without a final word: the node died, or the
	// room moved) and came back as the browser does. Failovers counts the
	// times one was back with media flowing both ways again; FailoverP50,
	// P99 and Max are those gaps, from the last media packet before the
	// loss (or the loss, if none was recent) to the first in and out
	// after. FailoversLost counts the times one was not back within
	// the failover timeout.
	FailoverPeers int           `json:"failover_peers"`
	Failovers     int           `json:"failovers"`
	FailoversLost int           `json:"failovers_lost"`
	FailoverP50   time.Duration `json:"failover_p50_ns"`
	FailoverP99   time.Duration `json:"failover_p99_ns"`
	FailoverMax   time.Duration `json:"failover_max_ns"`

	// Errors are the first few things that went wrong.
	Errors []string `json:"errors,omitempty"`
}

// OK says whether everyone joined, every subscriber received something,
// and everyone who lost their room came back.
func (r *Report) OK() bool {
	return r.JoinFailures == 0 && r.Silent == 0 && r.Joins > 0 && r.FailoversLost == 0
}

// addError keeps the first few different things that went wrong.
func (r *Report) addError(err error) {
	if len(r.Errors) < 8 && !slices.Contains(r.Errors, err.Error()) {
		r.Errors = append(r.Errors, err.Error())
	}
}

// percentile of sorted durations, p in [0,1]; 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

func (r *Report) setJoinTimes(ts []time.Duration) {
	slices.Sort(ts)
	r.JoinP50, r.JoinP99 = percentile(ts, 0.5), percentile(ts, 0.99)
}

func (r *Report) setAdmissions(ts []time.Duration, refused int) {
	slices.Sort(ts)
	r.Admissions, r.UpgradeRefusals = len(ts), refused
	r.AdmissionP50, r.AdmissionP99, r.AdmissionMax = percentile(ts, 0.5), percentile(ts, 0.99), percentile(ts, 1)
}

func (r *Report) setFailovers(ts []time.Duration) {
	ts = slices.Sorted(slices.Values(ts))
	r.Failovers = len(ts)
	r.FailoverP50, r.FailoverP99, r.FailoverMax = percentile(ts, 0.5), percentile(ts, 0.99), percentile(ts, 1)
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "scenario           %s, %d peers, %v measured\n", r.Scenario, r.Peers, r.Window.Round(time.Millisecond))
	fmt.Fprintf(w, "joins              %d ok, %d failed\n", r.Joins, r.JoinFailures)
	fmt.Fprintf(w, "join time          p50 %v, p99 %v (WebSocket dial to first RTP)\n", r.JoinP50.Round(time.Millisecond), r.JoinP99.Round(time.Millisecond))
	fmt.Fprintf(w, "admission          p50 %v, p99 %v, max %v (%d WebSocket upgrades through the gateway, %d refused)\n",
		ms(r.AdmissionP50), ms(r.AdmissionP99), ms(r.AdmissionMax), r.Admissions, r.UpgradeRefusals)
	if r.Rooms > 1 || r.Gateways > 1 || r.FailoverPeers > 0 {
		fmt.Fprintf(w, "rooms              %d of %d through %d gateways; by media address: %s\n", r.Rooms, r.Peers, r.Gateways, byAddress(r.RoomsByMediaAddress))
	}
	if r.FailoverPeers > 0 {
		fmt.Fprintf(w, "failover           %d people lost their room: %d times back, p50 %v, p99 %v, max %v; %d never back\n",
			r.FailoverPeers, r.Failovers, r.FailoverP50.Round(time.Millisecond), r.FailoverP99.Round(time.Millisecond), r.FailoverMax.Round(time.Millisecond), r.FailoversLost)
		fmt.Fprintf(w, "rooms after        by media address: %s\n", byAddress(r.RoomsByMediaAddressAfter))
	}
	fmt.Fprintf(w, "received           %d packets, %d bytes: %.0f packets/s, %.2f Mbit/s\n", r.Packets, r.Bytes, r.PacketsPerSecond, r.MbitPerSecond)
	fmt.Fprintf(w, "loss               %d packets, %.3f %%\n", r.Lost, r.LossPercent)
	fmt.Fprintf(w, "server asked for   %d NACKs, %d keyframes\n", r.NACKs, r.KeyframeRequests)
	fmt.Fprintf(w, "silent subscribers %d\n", r.Silent)
	fmt.Fprintf(w, "speaker messages   %d heard\n", r.SpeakerMessages)
	if r.ServerCPU > 0 {
		fmt.Fprintf(w, "server CPU         %v, %.2f µs per packet received\n", r.ServerCPU.Round(time.Millisecond),
			float64(r.ServerCPUPerPacket)/float64(time.Microsecond))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error              %s\n", e)
	}
}

// ms rounds a short duration for a person: to 10 µs.
func ms(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// byAddress lists rooms per media address, in address order.
func byAddress(m map[string]int) string {
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", a, m[a]))
	}
	if len(parts) == 0 {
		return "none seen"
	}
	return strings.Join(parts, ", ")
}
