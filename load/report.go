package load

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Report is what a run measured. Packets, bytes and loss are what the
// subscribers received in the measurement window; NACKs and keyframe
// requests are what the publishers were asked for in it.
type Report struct {
	Scenario string        `json:"scenario"`
	Peers    int           `json:"peers"`
	Window   time.Duration `json:"window_ns"`

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

	// Errors are the first few things that went wrong.
	Errors []string `json:"errors,omitempty"`
}

// OK says whether everyone joined and every subscriber received something.
func (r *Report) OK() bool { return r.JoinFailures == 0 && r.Silent == 0 && r.Joins > 0 }

func (r *Report) addError(err error) {
	if len(r.Errors) < 5 {
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

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "scenario           %s, %d peers, %v measured\n", r.Scenario, r.Peers, r.Window.Round(time.Millisecond))
	fmt.Fprintf(w, "joins              %d ok, %d failed\n", r.Joins, r.JoinFailures)
	fmt.Fprintf(w, "join time          p50 %v, p99 %v (WebSocket dial to first RTP)\n", r.JoinP50.Round(time.Millisecond), r.JoinP99.Round(time.Millisecond))
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
