package gateway

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"
)

// maxRooms bounds the rooms made through the API.
const maxRooms = 10_000

// roomsKey is where API rooms are kept in the Store.
const roomsKey = "roomgate/rooms.json"

// Room is a room made through the API, in Metered's words.
type Room struct {
	Name                string `json:"roomName"`
	Privacy             string `json:"privacy"` // "public" or "private"
	EnableRequestToJoin bool   `json:"enableRequestToJoin"`
	MaxParticipants     int    `json:"maxParticipants,omitempty"`
	ExpireUnixSec       int64  `json:"expireUnixSec,omitempty"`
	Created             int64  `json:"created"`
}

func (r *Room) private() bool { return r.Privacy == "private" }

func (r *Room) expired(now time.Time) bool {
	return r.ExpireUnixSec != 0 && now.Unix() >= r.ExpireUnixSec
}

// putRoomLocked adds or replaces a room and arms its expiry.
func (st *State) putRoomLocked(r *Room) {
	if t := st.roomTimers[r.Name]; t != nil {
		t.Stop()
		delete(st.roomTimers, r.Name)
	}
	st.rooms[r.Name] = r
	if r.ExpireUnixSec != 0 {
		name := r.Name
		st.roomTimers[name] = st.clock.AfterFunc(time.Unix(r.ExpireUnixSec, 0).Sub(st.clock.Now()), func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			if cur := st.rooms[name]; cur == r {
				st.deleteRoomLocked(name, "the room expired")
			}
		})
	}
}

// deleteRoomLocked forgets a room and ends its meeting: every signalling
// connection in it is cut.
func (st *State) deleteRoomLocked(name, reason string) {
	if t := st.roomTimers[name]; t != nil {
		t.Stop()
		delete(st.roomTimers, name)
	}
	delete(st.rooms, name)
	for c := range st.byRoom[name] {
		c.closeLocked()
	}
	st.log().Info("room closed", zap.String("room", name), zap.String("reason", reason))
}

// roomsSnapshotLocked is the room list to persist.
func (st *State) roomsSnapshotLocked() []byte {
	list := make([]*Room, 0, len(st.rooms))
	for _, r := range st.rooms {
		list = append(list, r)
	}
	b, _ := json.Marshal(list)
	return b
}

// loadRooms reads the persisted rooms, once, into a fresh State.
func (st *State) loadRooms(ctx context.Context, s Store, log *zap.Logger) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.roomsLoaded || s == nil {
		return
	}
	st.roomsLoaded = true
	list, ok := loadStored[[]*Room](ctx, s, roomsKey, "the rooms", log)
	if !ok {
		return
	}
	now := st.clock.Now()
	for _, r := range list {
		if r != nil && !r.expired(now) && len(st.rooms) < maxRooms {
			st.putRoomLocked(r)
		}
	}
}

// participantsLocked lists the people connected to a room now.
func (st *State) participantsLocked(room string) []participant {
	out := []participant{}
	for c := range st.byRoom[room] {
		if c.established && !c.closed && !c.lobby {
			out = append(out, c.who)
		}
	}
	return out
}

// MaxLobby is how many may wait in one room's lobby at once; the media
// server holds to the same number.
const MaxLobby = 50

// maxLobbyPerAddress is how many lobby places one address may hold at
// once, in all rooms: a person knocks once; a crowd cannot fill a lobby
// from one machine.
const maxLobbyPerAddress = 3

// lobbyFromLocked counts the lobby connections from one address.
func (st *State) lobbyFromLocked(key string) int { return st.lobbyPerAddr[key] }

// countLocked counts the live connections to a room: those in its lobby, or
// those in the room itself.
func (st *State) countLocked(room string, lobby bool) int {
	n := 0
	for c := range st.byRoom[room] {
		if !c.closed && c.lobby == lobby {
			n++
		}
	}
	return n
}

// participant is who is in a room, in Metered's words.
type participant struct {
	Name           string    `json:"name"`
	Email          string    `json:"email,omitempty"`
	ExternalUserID string    `json:"externalUserId,omitempty"`
	IsAdmin        bool      `json:"isAdmin"`
	JoinedAt       time.Time `json:"joinedAt"`
}
