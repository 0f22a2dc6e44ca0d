package load

import (
	"net"
	"strings"

	"github.com/pion/webrtc/v4"
)

// roomsByMediaAddress counts the rooms on each media server, known by the
// address its first ICE candidate names (one per node: each has its own
// UDP port or address), as one person of each room sees it now.
func roomsByMediaAddress(peers []*peer) map[string]int {
	seen := map[string]bool{}
	out := map[string]int{}
	for _, p := range peers {
		if seen[p.room] {
			continue
		}
		c := p.s.Client()
		select {
		case <-c.Done():
			continue // away: where it was says nothing now
		default:
		}
		for _, pc := range []*webrtc.PeerConnection{c.Pub, c.Sub} {
			if a := candidateAddress(pc.RemoteDescription()); a != "" {
				seen[p.room] = true
				out[a]++
				break
			}
		}
	}
	return out
}

// candidateAddress is the address of a description's first candidate.
func candidateAddress(d *webrtc.SessionDescription) string {
	if d == nil {
		return ""
	}
	for _, line := range strings.Split(d.SDP, "\n") {
		// a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ …
		if f := strings.Fields(strings.TrimPrefix(line, "a=candidate:")); strings.HasPrefix(line, "a=candidate:") && len(f) >= 6 {
			return net.JoinHostPort(f[4], f[5])
		}
	}
	return ""
}
