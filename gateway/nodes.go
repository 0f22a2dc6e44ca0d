package gateway

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/roomgate/roomgate/cluster"
)

// nodeListAge is how old the list of media nodes a gateway chooses from
// may be. A node that died since is skipped by the pin itself (its lease
// is checked in the same step); one that joined waits that long for rooms.
const nodeListAge = time.Second

// nodeList is the media nodes as this gateway last read them.
type nodeList struct {
	mu    sync.Mutex
	nodes []cluster.Node
	read  time.Time
}

// choices orders the live nodes for a new room: this gateway's region
// first; within it, the less loaded of two picked at random (two random
// choices: no herd on the one that looked idlest a second ago), then the
// rest by load, and draining nodes last. Draining nodes stay among the
// choices only so that a list of them is not empty: the pin keeps a room
// that is on one there, and gives none a new room (it reads the lease, not
// this list, which may be a second old).
func (st *State) nodeChoices(ctx context.Context, region string) ([]string, error) {
	l := &st.nodes
	l.mu.Lock()
	defer l.mu.Unlock()
	now := st.clock.Now()
	if l.nodes == nil || now.Sub(l.read) >= nodeListAge {
		nodes, err := st.shared.Nodes(ctx)
		if err != nil {
			return nil, err
		}
		l.nodes, l.read = nodes, now
	}
	local, far, draining := []cluster.Node{}, []cluster.Node{}, []cluster.Node{}
	for _, n := range l.nodes {
		switch {
		case n.Draining:
			draining = append(draining, n)
		case region == "" || n.Region == region:
			local = append(local, n)
		default:
			far = append(far, n)
		}
	}
	byLoad := func(a, b cluster.Node) int { return a.Load - b.Load }
	slices.SortStableFunc(local, byLoad)
	slices.SortStableFunc(far, byLoad)
	if len(local) >= 2 {
		i, j := rand.N(len(local)), rand.N(len(local)-1)
		if j >= i {
			j++
		}
		if local[j].Load < local[i].Load {
			i = j
		}
		local[0], local[i] = local[i], local[0]
	}
	ids := make([]string, 0, len(l.nodes))
	for _, n := range slices.Concat(local, far, draining) {
		ids = append(ids, n.ID)
	}
	return ids, nil
}
