package restapi

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
	"github.com/roomgate/roomgate/gateway"
	"github.com/roomgate/roomgate/gateway/httperror"
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
func (c *roomChange) apply(r *gateway.Room, now time.Time) *httperror.Refusal {
	if c.Privacy != nil {
		if *c.Privacy != "public" && *c.Privacy != "private" {
			return httperror.Refuse(http.StatusBadRequest, "bad_privacy", `privacy must be "public" or "private"`)
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
			return httperror.Refuse(http.StatusBadRequest, "bad_webhook", "a room's webhooks must be http:// or https:// URLs")
		}
		*h.out = *h.in
	}
	if c.MaxParticipants != nil {
		if *c.MaxParticipants < 0 || *c.MaxParticipants > 10_000 {
			return httperror.Refuse(http.StatusBadRequest, "bad_max_participants", "maxParticipants must be 0 (no limit) to 10000")
		}
		r.MaxParticipants = *c.MaxParticipants
	}
	if c.ExpireUnixSec != nil {
		if e := *c.ExpireUnixSec; e != 0 && (e <= now.Unix() || e > now.Add(maxTokenLifetime).Unix()) {
			return httperror.Refuse(http.StatusBadRequest, "bad_expire", "expireUnixSec must be in the future and within a year, or 0")
		}
		r.ExpireUnixSec = *c.ExpireUnixSec
	}
	return nil
}

// roomStored answers what the shared store said to a change of a room,
// and keeps the rooms for a restart when it was made.
func (a *API) roomStored(ctx context.Context, err error) *httperror.Refusal {
	switch {
	case errors.Is(err, cluster.ErrExists):
		return httperror.Refuse(http.StatusConflict, "room_exists", "a room of that name exists")
	case errors.Is(err, cluster.ErrFull):
		return httperror.Refuse(http.StatusConflict, "too_many_rooms", "the room limit is reached; delete rooms first")
	case errors.Is(err, cluster.ErrNotFound):
		return httperror.Refuse(http.StatusNotFound, "no_such_room", "there is no room of that name")
	case err != nil:
		return httperror.Shared(err)
	}
	return a.g.KeepRooms(ctx)
}

// serveCreateRoom is POST /api/v1/room.
func (a *API) serveCreateRoom(w http.ResponseWriter, r *http.Request) {
	var c roomChange
	if rf := readJSON(w, r, &c); rf != nil {
		rf.Write(w)
		return
	}
	now := a.g.Now()
	room := &gateway.Room{Privacy: "public", Created: now.Unix()}
	if c.RoomName != nil && *c.RoomName != "" {
		room.Name = *c.RoomName
	} else {
		room.Name = strings.ToLower(accesstoken.NewID()[:10])
	}
	if !accesstoken.ValidRoom(room.Name) {
		httperror.Refuse(http.StatusBadRequest, "bad_room", "roomName must be 1-64 of A-Z a-z 0-9 _ -").Write(w)
		return
	}
	if rf := c.apply(room, now); rf != nil {
		rf.Write(w)
		return
	}
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	b, _ := json.Marshal(room)
	if rf := a.roomStored(ctx, a.g.Shared().CreateRoom(ctx, room.Name, b, room.Expires())); rf != nil {
		rf.Write(w)
		return
	}
	a.auditRoom(r, auditRoomCreated, room)
	httperror.JSON(w, http.StatusCreated, room)
}

// serveListRooms is GET /api/v1/rooms.
func (a *API) serveListRooms(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	list, err := a.g.Rooms(ctx)
	if err != nil {
		httperror.Shared(err).Write(w)
		return
	}
	slices.SortFunc(list, func(a, b gateway.Room) int { return strings.Compare(a.Name, b.Name) })
	httperror.JSON(w, http.StatusOK, list)
}

// findRoom reads a live API room, or writes a 404 (or a 503 without the
// shared state) and returns nil.
func (a *API) findRoom(ctx context.Context, w http.ResponseWriter, name string) *gateway.Room {
	room, err := a.g.Room(ctx, name)
	if err != nil {
		httperror.Shared(err).Write(w)
		return nil
	}
	if room == nil {
		httperror.Refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").Write(w)
	}
	return room
}

// serveGetRoom is GET /api/v1/room/{name}.
func (a *API) serveGetRoom(w http.ResponseWriter, r *http.Request, name string) {
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	if room := a.findRoom(ctx, w, name); room != nil {
		httperror.JSON(w, http.StatusOK, room)
	}
}

// servePatchRoom is PATCH /api/v1/room/{name}: nothing changes unless all
// of it can. Two changes to one room at once: the last one wins whole.
func (a *API) servePatchRoom(w http.ResponseWriter, r *http.Request, name string) {
	var c roomChange
	if rf := readJSON(w, r, &c); rf != nil {
		rf.Write(w)
		return
	}
	if c.RoomName != nil && *c.RoomName != name {
		httperror.Refuse(http.StatusBadRequest, "bad_room", "a room cannot be renamed").Write(w)
		return
	}
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	room := a.findRoom(ctx, w, name)
	if room == nil {
		return
	}
	if rf := c.apply(room, a.g.Now()); rf != nil {
		rf.Write(w)
		return
	}
	b, _ := json.Marshal(room)
	if rf := a.roomStored(ctx, a.g.Shared().ReplaceRoom(ctx, name, b, room.Expires())); rf != nil {
		rf.Write(w)
		return
	}
	a.auditRoom(r, auditRoomChanged, room)
	httperror.JSON(w, http.StatusOK, room)
}

// serveDeleteRoom is DELETE /api/v1/room/{name}: the room goes, and its
// meeting ends for everyone in it, on every gateway.
func (a *API) serveDeleteRoom(w http.ResponseWriter, r *http.Request, name string) {
	ctx, cancel := a.g.Bound(r.Context())
	defer cancel()
	if !accesstoken.ValidRoom(name) {
		httperror.Refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").Write(w)
		return
	}
	gone, _ := a.g.Room(ctx, name) // its webhooks, for the end
	if rf := a.roomStored(ctx, a.g.Shared().DeleteRoom(ctx, name)); rf != nil {
		rf.Write(w)
		return
	}
	a.auditRoom(r, auditRoomDeleted, &gateway.Room{Name: name})
	a.g.Notify("room.ended", name, map[string]any{"reason": "deleted through the API"}, gone.HookFor("room.ended"))
	w.WriteHeader(http.StatusNoContent)
}

// serveParticipants is GET /api/v1/room/{name}/participants: who is
// connected now through this gateway.
func (a *API) serveParticipants(w http.ResponseWriter, r *http.Request, name string) {
	if !accesstoken.ValidRoom(name) {
		httperror.Refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").Write(w)
		return
	}
	if a.g.Config().RequireRooms {
		ctx, cancel := a.g.Bound(r.Context())
		defer cancel()
		if a.findRoom(ctx, w, name) == nil {
			return
		}
	}
	httperror.JSON(w, http.StatusOK, a.g.Participants(name))
}

// auditRoom records a change to an API room.
func (a *API) auditRoom(r *http.Request, event string, room *gateway.Room) {
	a.g.Audit(event, zap.String("address", a.g.Config().ClientIP(r).String()), zap.String("room", room.Name),
		zap.String("privacy", room.Privacy), zap.Bool("request_to_join", room.EnableRequestToJoin),
		zap.Int("max_participants", room.MaxParticipants), zap.Int64("expire_unix_sec", room.ExpireUnixSec))
}
