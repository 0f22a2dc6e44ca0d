package gateway

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/roomgate/roomgate/accesstoken"
	"go.uber.org/zap"
)

// roomChange is the body of POST /api/v1/room and PATCH /api/v1/room/{name}:
// every property optional.
type roomChange struct {
	RoomName            *string `json:"roomName"`
	Privacy             *string `json:"privacy"`
	EnableRequestToJoin *bool   `json:"enableRequestToJoin"`
	MaxParticipants     *int    `json:"maxParticipants"`
	ExpireUnixSec       *int64  `json:"expireUnixSec"`
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

// saveRoomsLocked persists the rooms; the caller holds the state's lock.
func (g *Gateway) saveRoomsLocked(r *http.Request) *refusal {
	if g.cfg.Store == nil {
		return nil
	}
	if err := g.cfg.Store.Store(r.Context(), roomsKey, g.state.roomsSnapshotLocked()); err != nil {
		g.log.Error("keeping the rooms", zap.Error(err))
		return refuse(http.StatusInternalServerError, "internal", "the change is made here, but could not be kept for a restart")
	}
	return nil
}

// serveCreateRoom is POST /api/v1/room.
func (g *Gateway) serveCreateRoom(w http.ResponseWriter, r *http.Request) {
	var c roomChange
	if rf := readJSON(w, r, &c); rf != nil {
		rf.write(w)
		return
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.clock.Now()
	room := &Room{Privacy: "public", Created: now.Unix()}
	if c.RoomName != nil && *c.RoomName != "" {
		room.Name = *c.RoomName
	} else {
		room.Name = strings.ToLower(accesstoken.NewID()[:10])
	}
	if !accesstoken.ValidRoom(room.Name) {
		refuse(http.StatusBadRequest, "bad_room", "roomName must be 1-64 of A-Z a-z 0-9 _ -").write(w)
		return
	}
	if old := st.rooms[room.Name]; old != nil && !old.expired(now) {
		refuse(http.StatusConflict, "room_exists", "a room of that name exists").write(w)
		return
	}
	if len(st.rooms) >= maxRooms {
		refuse(http.StatusConflict, "too_many_rooms", "the room limit is reached; delete rooms first").write(w)
		return
	}
	if rf := c.apply(room, now); rf != nil {
		rf.write(w)
		return
	}
	st.putRoomLocked(room)
	if rf := g.saveRoomsLocked(r); rf != nil {
		rf.write(w)
		return
	}
	writeJSON(w, http.StatusCreated, room)
}

// serveListRooms is GET /api/v1/rooms.
func (g *Gateway) serveListRooms(w http.ResponseWriter, r *http.Request) {
	st := g.state
	st.mu.Lock()
	now := st.clock.Now()
	list := make([]Room, 0, len(st.rooms))
	for _, room := range st.rooms {
		if !room.expired(now) {
			list = append(list, *room)
		}
	}
	st.mu.Unlock()
	slices.SortFunc(list, func(a, b Room) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, list)
}

// roomLocked finds a live API room or writes a 404.
func (g *Gateway) roomLocked(w http.ResponseWriter, name string) *Room {
	room := g.state.rooms[name]
	if room == nil || room.expired(g.state.clock.Now()) {
		refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").write(w)
		return nil
	}
	return room
}

// serveGetRoom is GET /api/v1/room/{name}.
func (g *Gateway) serveGetRoom(w http.ResponseWriter, r *http.Request, name string) {
	g.state.mu.Lock()
	defer g.state.mu.Unlock()
	if room := g.roomLocked(w, name); room != nil {
		writeJSON(w, http.StatusOK, room)
	}
}

// servePatchRoom is PATCH /api/v1/room/{name}: nothing changes unless all of it can.
func (g *Gateway) servePatchRoom(w http.ResponseWriter, r *http.Request, name string) {
	var c roomChange
	if rf := readJSON(w, r, &c); rf != nil {
		rf.write(w)
		return
	}
	if c.RoomName != nil && *c.RoomName != name {
		refuse(http.StatusBadRequest, "bad_room", "a room cannot be renamed").write(w)
		return
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	room := g.roomLocked(w, name)
	if room == nil {
		return
	}
	next := *room
	if rf := c.apply(&next, st.clock.Now()); rf != nil {
		rf.write(w)
		return
	}
	st.putRoomLocked(&next)
	if rf := g.saveRoomsLocked(r); rf != nil {
		rf.write(w)
		return
	}
	writeJSON(w, http.StatusOK, next)
}

// serveDeleteRoom is DELETE /api/v1/room/{name}: the room goes, and its
// meeting ends for everyone in it.
func (g *Gateway) serveDeleteRoom(w http.ResponseWriter, r *http.Request, name string) {
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if g.roomLocked(w, name) == nil {
		return
	}
	st.deleteRoomLocked(name, "deleted through the API")
	if rf := g.saveRoomsLocked(r); rf != nil {
		rf.write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveParticipants is GET /api/v1/room/{name}/participants: who is connected now.
func (g *Gateway) serveParticipants(w http.ResponseWriter, r *http.Request, name string) {
	if !accesstoken.ValidRoom(name) {
		refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").write(w)
		return
	}
	st := g.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.rooms[name] == nil && g.cfg.RequireRooms {
		refuse(http.StatusNotFound, "no_such_room", "there is no room of that name").write(w)
		return
	}
	writeJSON(w, http.StatusOK, st.participantsLocked(name))
}
