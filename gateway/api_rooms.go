package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// roomChange is the body of POST /api/v1/room and PATCH /api/v1/room/{name}:
// every property optional.
type roomChange struct {
	RoomName              *string `json:"roomName"`
	Privacy               *string `json:"privacy"`
	EnableRequestToJoin   *bool   `json:"enableRequestToJoin"`
	AdmitEarlyArrivals    *bool   `json:"admitEarlyArrivals"`
	MeetingJoinWebhook    *string `json:"meetingJoinWebhook"`
	MeetingLeftWebhook    *string `json:"meetingLeftWebhook"`
	MeetingStartedWebhook *string `json:"meetingStartedWebhook"`
	MeetingEndedWebhook   *string `json:"meetingEndedWebhook"`
	MaxParticipants       *int    `json:"maxParticipants"`
	ExpireUnixSec         *int64  `json:"expireUnixSec"`
}

// apply checks the change and makes it on r.
func (c *roomChange) apply(r *Room, now time.Time) *refusal {
	if c.Privacy != nil {
		if *c.Privacy != "public" && *c.Privacy != "private" {
			return refuse(http.StatusBadRequest, "bad_privacy", `privacy must be "public" or "private"`)
		}
		r.Privacy = *c.Privacy
	}
	if c.EnableRequestToJoin != nil {
		r.EnableRequestToJoin = *c.EnableRequestToJoin
	}
	if c.AdmitEarlyArrivals != nil {
		r.AdmitEarlyArrivals = *c.AdmitEarlyArrivals
	}
	for _, h := range []struct {
		in  *string
		out *string
	}{{c.MeetingJoinWebhook, &r.MeetingJoinWebhook}, {c.MeetingLeftWebhook, &r.MeetingLeftWebhook},
		{c.MeetingStartedWebhook, &r.MeetingStartedWebhook}, {c.MeetingEndedWebhook, &r.MeetingEndedWebhook}} {
		if h.in == nil {
			continue
		}
		if u, err := url.Parse(*h.in); *h.in != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*h.in) > 1024) {
			return refuse(http.StatusBadRequest, "bad_webhook", "a room's webhooks must be http:// or https:// URLs")
		}
		*h.out = *h.in
	}
	if c.MaxParticipants != nil {
		if *c.MaxParticipants < 0 || *c.MaxParticipants > 10_000 {
			return refuse(http.StatusBadRequest, "bad_max_participants", "maxParticipants must be 0 (no limit) to 10000")
		}
		r.MaxParticipants = *c.MaxParticipants
	}
	if c.ExpireUnixSec != nil {
		if e := *c.ExpireUnixSec; e != 0 && (e <= now.Unix() || e > now.Add(maxTokenLifetime).Unix()) {
			return refuse(http.StatusBadRequest, "bad_expire", "expireUnixSec must be in the future and within a year, or 0")
		}
		r.ExpireUnixSec = *c.ExpireUnixSec
	}
	return nil
}

// keepRooms copies the rooms to Caddy's storage, for an in-memory store
// (one process); a store that keeps itself needs no copy.
func (g *Gateway) keepRooms(ctx context.Context) *refusal {
	if g.cfg.Store == nil || !g.state.inProcess() {
		return nil
	}
	list, err := g.state.rooms(ctx)
	if err == nil {
		b, _ := json.Marshal(list)
		err = g.cfg.Store.Store(ctx, roomsKey, b)
	}
	if err != nil {
		g.log.Error("keeping the rooms", zap.Error(err))
		return refuse(http.StatusInternalServerError, "internal", "the change is made, but could not be kept for a restart")
	}
	return nil
}

// roomStored answers what the shared store said to a change of a room,
// and keeps the rooms for a restart when it was made.
func (g *Gateway) roomStored(ctx context.Context, err error) *refusal {
	switch {
	case errors.Is(err, cluster.ErrExists):
		return refuse(http.StatusConflict, "room_exists", "a room of that name exists")
	case errors.Is(err, cluster.ErrFull):
		return refuse(http.StatusConflict, "too_many_rooms", "the room limit is reached; delete rooms first")
	case errors.Is(err, cluster.ErrNotFound):
		return refuse(http.StatusNotFound, "no_such_room", "there is no room of that name")
	case err != nil:
		return sharedRefusal(err)
	}
	return g.keepRooms(ctx)
}

// serveCreateRoom is POST /api/v1/room.
func (g *Gateway) serveCreateRoom(w http.ResponseWriter, r *http.Request) {
	var c roomChange
	if rf := readJSON(w, r, &c); rf != nil {
		rf.Write(w)
		return
	}
	st := g.state
	now := st.clock.Now()
	room := &Room{Privacy: "public", Created: now.Unix()}
	if c.RoomName != nil && *c.RoomName != "" {
		room.Name = *c.RoomName
	} else {
		room.Name = strings.ToLower(accesstoken.NewID()[:10])
	}
	if !accesstoken.ValidRoom(room.Name) {
		refuse(http.StatusBadRequest, "bad_room", "roomName must be 1-64 of A-Z a-z 0-9 _ -").Write(w)
		return
	}
	if rf := c.apply(room, now); rf != nil {
		rf.Write(w)
		return
	}
	ctx, cancel := st.sharedCtx(r.Context())
	defer cancel()
	b, _ := json.Marshal(room)
	if rf := g.roomStored(ctx, st.shared.CreateRoom(ctx, room.Name, b, room.expires())); rf != nil {
		rf.Write(w)
		return
	}
	g.auditRoom(r, auditRoomCreated, room)
	writeJSON(w, http.StatusCreated, room)
}

// serveListRooms is GET /api/v1/rooms.
func (g *Gateway) serveListRooms(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	list, err := g.state.rooms(ctx)
	if err != nil {
		sharedRefusal(err).Write(w)
		return
	}
	slices.SortFunc(list, func(a, b Room) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, list)
}

// findRoom reads a live API room, or writes a 404 (or a 503 without the
// shared state) and returns nil.
func (g *Gateway) findRoom(ctx context.Context, w http.ResponseWriter, name string) *Room {
	room, err := g.state.room(ctx, name)
	if err != nil {
		sharedRefusal(err).Write(w)
		return nil
	}
	if room == nil {
		refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").Write(w)
	}
	return room
}

// serveGetRoom is GET /api/v1/room/{name}.
func (g *Gateway) serveGetRoom(w http.ResponseWriter, r *http.Request, name string) {
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	if room := g.findRoom(ctx, w, name); room != nil {
		writeJSON(w, http.StatusOK, room)
	}
}

// servePatchRoom is PATCH /api/v1/room/{name}: nothing changes unless all
// of it can. Two changes to one room at once: the last one wins whole.
func (g *Gateway) servePatchRoom(w http.ResponseWriter, r *http.Request, name string) {
	var c roomChange
	if rf := readJSON(w, r, &c); rf != nil {
		rf.Write(w)
		return
	}
	if c.RoomName != nil && *c.RoomName != name {
		refuse(http.StatusBadRequest, "bad_room", "a room cannot be renamed").Write(w)
		return
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	room := g.findRoom(ctx, w, name)
	if room == nil {
		return
	}
	if rf := c.apply(room, g.state.clock.Now()); rf != nil {
		rf.Write(w)
		return
	}
	b, _ := json.Marshal(room)
	if rf := g.roomStored(ctx, g.state.shared.ReplaceRoom(ctx, name, b, room.expires())); rf != nil {
		rf.Write(w)
		return
	}
	g.auditRoom(r, auditRoomChanged, room)
	writeJSON(w, http.StatusOK, room)
}

// serveDeleteRoom is DELETE /api/v1/room/{name}: the room goes, and its
// meeting ends for everyone in it, on every gateway.
func (g *Gateway) serveDeleteRoom(w http.ResponseWriter, r *http.Request, name string) {
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	if !accesstoken.ValidRoom(name) {
		refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").Write(w)
		return
	}
	gone, _ := g.state.room(ctx, name) // its webhooks, for the end
	if rf := g.roomStored(ctx, g.state.shared.DeleteRoom(ctx, name)); rf != nil {
		rf.Write(w)
		return
	}
	g.auditRoom(r, auditRoomDeleted, &Room{Name: name})
	g.notify("room.ended", name, map[string]any{"reason": "deleted through the API"}, gone.hookFor("room.ended"))
	w.WriteHeader(http.StatusNoContent)
}

// serveParticipants is GET /api/v1/room/{name}/participants: who is
// connected now through this gateway.
func (g *Gateway) serveParticipants(w http.ResponseWriter, r *http.Request, name string) {
	if !accesstoken.ValidRoom(name) {
		refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").Write(w)
		return
	}
	if g.cfg.RequireRooms {
		ctx, cancel := g.state.sharedCtx(r.Context())
		defer cancel()
		if g.findRoom(ctx, w, name) == nil {
			return
		}
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	writeJSON(w, http.StatusOK, st.participantsLocked(name))
}

// auditRoom records a change to an API room.
func (g *Gateway) auditRoom(r *http.Request, event string, room *Room) {
	g.audit(event, zap.String("address", g.cfg.ClientIP(r).String()), zap.String("room", room.Name),
		zap.String("privacy", room.Privacy), zap.Bool("request_to_join", room.EnableRequestToJoin),
		zap.Int("max_participants", room.MaxParticipants), zap.Int64("expire_unix_sec", room.ExpireUnixSec))
}
