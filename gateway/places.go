package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// MaxLobby is how many may wait in one room's lobby at once; the media
// server holds to the same number.
const MaxLobby = 50

// maxLobbyPerAddress is how many lobby places one address may hold at
// once, in all rooms: a person knocks once; a crowd cannot fill a lobby
// from one machine.
const maxLobbyPerAddress = 3

// Places are counted in the shared store, so that limits hold across
// gateways: a connection takes a place in its room (or the room's lobby)
// and one for its address, and gives them back when it ends.
const (
	placeRoom      = "room:"
	placeLobby     = "lobby:"
	placeAddr      = "addr:"
	placeLobbyAddr = "lobby-addr:"
)

// places are what a connection takes: in the room, or in its lobby; and
// from its address (IPv6: its /64). The first full one decides the
// refusal, so the room's own limit speaks before the address's.
func (g *Gateway) places(addr netip.Addr, room string, r *Room, e entry) []cluster.Place {
	key := addrKey(addr)
	perAddr := max(g.cfg.MaxConnsPerAddress, 0)
	if e.role == accesstoken.PeerLobby {
		return []cluster.Place{
			{Key: placeLobby + room, Limit: MaxLobby},
			{Key: placeAddr + key, Limit: perAddr},
			{Key: placeLobbyAddr + key, Limit: maxLobbyPerAddress},
		}
	}
	roomLimit := 0
	if r != nil && e.role != accesstoken.PeerHost {
		roomLimit = r.MaxParticipants
	}
	return []cluster.Place{{Key: placeRoom + room, Limit: roomLimit}, {Key: placeAddr + key, Limit: perAddr}}
}

// takePlaces takes the places and, with PinRooms, finds the media node the
// room is on (placing it when it is on none), or says what was full.
func (g *Gateway) takePlaces(ctx context.Context, room string, places []cluster.Place) (*cluster.Pin, *refusal) {
	ctx, cancel := g.state.sharedCtx(ctx)
	defer cancel()
	var choices []string
	if g.cfg.PinRooms {
		var err error
		if choices, err = g.state.nodeChoices(ctx, g.cfg.Region); err != nil {
			return nil, sharedRefusal(err)
		}
		if len(choices) == 0 {
			return nil, noMediaServer
		}
	}
	e, err := g.state.shared.Enter(ctx, room, choices, g.state.holder, places)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil, noMediaServer
	}
	if err != nil {
		return nil, sharedRefusal(err)
	}
	if e.Pin != nil && e.Pin.Moved {
		g.state.countFailover()
		g.log.Info("room moved off a media node that is gone", zap.String("room", room), zap.String("node", e.Pin.Node.ID))
	}
	if e.Full == "" {
		return e.Pin, nil
	}
	return nil, fullRefusal(e.Full)
}

var noMediaServer = &refusal{Status: http.StatusServiceUnavailable, Code: "no_media_server",
	Message: "no media server is available; try again in a moment", RetryAfter: clusterRetryAfter}

// fullRefusal says which place was full.
func fullRefusal(full string) *refusal {
	switch {
	case strings.HasPrefix(full, placeLobbyAddr):
		return refuse(http.StatusTooManyRequests, "too_many_connections", "this address is already waiting to be let in")
	case strings.HasPrefix(full, placeLobby):
		return refuse(http.StatusServiceUnavailable, "lobby_full", "too many people are waiting to join; try again later")
	case strings.HasPrefix(full, placeRoom):
		return refuse(http.StatusForbidden, "room_full", "the room is full")
	}
	return refuse(http.StatusTooManyRequests, "too_many_connections", "too many signalling connections from this address")
}

// givePlaces gives back what a connection took.
func (g *Gateway) givePlaces(places []cluster.Place) { g.state.givePlaces(places) }

func (st *State) givePlaces(places []cluster.Place) {
	if len(places) == 0 {
		return
	}
	ctx, cancel := st.sharedCtx(context.Background())
	defer cancel()
	if err := st.shared.Give(ctx, st.holder, places); err != nil {
		// The holder's lease outlives nothing: a place it could not give
		// back stops counting when this gateway's lease lapses.
		st.log().Warn("giving back a connection's places", zap.Error(err))
	}
}

// leaveToken records that a connection of a limited token ended; refund
// gives back its use when it never got in.
func (st *State) leaveToken(token string, refund bool) {
	if token == "" {
		return
	}
	ctx, cancel := st.sharedCtx(context.Background())
	defer cancel()
	if err := st.shared.TokenLeave(ctx, token, refund); err != nil {
		// Left open, the record only ever counts against the token.
		st.log().Warn("recording the end of a limited token's connection", zap.Error(err))
	}
}

// Knocks on a lobby are limited per address (5 at once, one more every
// 30 s) and per room (60 at once, more than a lobby holds, then one more
// every second): one machine cannot keep knocking, and a crowd cannot
// flood one room's admins.
func knockBuckets(addr netip.Addr, room string) []cluster.Bucket {
	return []cluster.Bucket{
		{Key: "knock-a:" + addrKey(addr), Burst: 5, Refill: 30 * time.Second},
		{Key: "knock-r:" + room, Burst: 60, Refill: time.Second},
	}
}

// knock checks the knock limits and, when count is set, counts a knock.
func (g *Gateway) knock(ctx context.Context, addr netip.Addr, room string, count bool) *refusal {
	ctx, cancel := g.state.sharedCtx(ctx)
	defer cancel()
	buckets := knockBuckets(addr, room)
	wait, err := g.state.shared.LoginWait(ctx, buckets...)
	if err != nil {
		return sharedRefusal(err)
	}
	if wait > 0 {
		return &refusal{Status: http.StatusTooManyRequests, Code: "too_many_knocks",
			Message: "too many requests to join; try again later", RetryAfter: wait}
	}
	if count {
		if err := g.state.shared.LoginFailed(ctx, buckets...); err != nil {
			return sharedRefusal(err)
		}
	}
	return nil
}

// recountPlaces tells the shared store what this gateway holds, from its
// connections, so that a place whose Give was lost to an outage does not
// stay taken. Places taken or given back while it counts are put right at
// the next count.
func (st *State) recountPlaces(ctx context.Context) {
	counts := map[string]int{}
	st.mu.Lock()
	for c := range st.conns {
		for _, p := range c.places {
			counts[p.Key]++
		}
	}
	for k := range st.placeKeys {
		if _, ok := counts[k]; !ok {
			counts[k] = 0
		}
	}
	st.placeKeys = map[string]bool{}
	for k, n := range counts {
		if n > 0 {
			st.placeKeys[k] = true
		}
	}
	st.mu.Unlock()
	ctx, cancel := st.sharedCtx(ctx)
	defer cancel()
	if err := st.shared.SetHolderPlaces(ctx, st.holder, counts); err != nil {
		st.log().Warn("recounting this gateway's places", zap.Error(err))
	}
}
