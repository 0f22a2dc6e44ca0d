package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/cluster"
	"go.uber.org/zap"
)

// roomsKey is where API rooms are kept in the Store.
const roomsKey = "roomgate/rooms.json"

// Room is a room made through the API, in Metered's words.
type Room struct {
	Name                string `json:"roomName"`
	Privacy             string `json:"privacy"` // "public" or "private"
	EnableRequestToJoin bool   `json:"enableRequestToJoin"`
	MaxParticipants     int    `json:"maxParticipants,omitempty"`
	// AdmitEarlyArrivals lets people who came before the host in at once
	// when the host arrives (host_protected); otherwise the host admits
	// them from the lobby.
	AdmitEarlyArrivals bool `json:"admitEarlyArrivals,omitempty"`
	// Metered's per-room webhooks: these events of this room also go to
	// these URLs, signed like the others.
	MeetingJoinWebhook    string `json:"meetingJoinWebhook,omitempty"`
	MeetingLeftWebhook    string `json:"meetingLeftWebhook,omitempty"`
	MeetingStartedWebhook string `json:"meetingStartedWebhook,omitempty"`
	MeetingEndedWebhook   string `json:"meetingEndedWebhook,omitempty"`
	ExpireUnixSec         int64  `json:"expireUnixSec,omitempty"`
	Created               int64  `json:"created"`
}

func (r *Room) private() bool { return r.Privacy == "private" }

func (r *Room) expired(now time.Time) bool {
	return r.ExpireUnixSec != 0 && now.Unix() >= r.ExpireUnixSec
}

// Expires is when the room ends (zero: never).
func (r *Room) Expires() time.Time {
	if r.ExpireUnixSec == 0 {
		return time.Time{}
	}
	return time.Unix(r.ExpireUnixSec, 0)
}

// HookFor is the room's own webhook for an event, or "".
func (r *Room) HookFor(event string) string {
	if r == nil {
		return ""
	}
	switch event {
	case "participant.joined":
		return r.MeetingJoinWebhook
	case "participant.left":
		return r.MeetingLeftWebhook
	case "room.started":
		return r.MeetingStartedWebhook
	case "room.ended":
		return r.MeetingEndedWebhook
	}
	return ""
}

// roomTimer cuts the people in an API room here when it expires.
type roomTimer struct {
	at    int64 // the room's ExpireUnixSec
	timer clockwork.Timer
}

// room reads an API room from the shared store; nil when there is none.
func (st *State) room(ctx context.Context, name string) (*Room, error) {
	b, err := st.shared.Room(ctx, name)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st.roomOf(name, b)
}

// roomOf decodes a room read from the shared store; nil when there was
// none, or it has expired.
func (st *State) roomOf(name string, b []byte) (*Room, error) {
	if b == nil {
		return nil, nil
	}
	var r Room
	if err := json.Unmarshal(b, &r); err != nil {
		st.log().Error("a room in the shared state is damaged", zap.String("room", name), zap.Error(err))
		return nil, err
	}
	if r.expired(st.clock.Now()) {
		return nil, nil
	}
	return &r, nil
}

// rooms reads every live API room from the shared store.
func (st *State) rooms(ctx context.Context) ([]Room, error) {
	list, err := st.shared.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	now := st.clock.Now()
	out := make([]Room, 0, len(list))
	for _, b := range list {
		var r Room
		if json.Unmarshal(b, &r) == nil && !r.expired(now) {
			out = append(out, r)
		}
	}
	return out, nil
}

// armRoomLocked cuts the people here in room r when it expires; the store
// forgets the room by itself.
func (st *State) armRoomLocked(r *Room) {
	old, armed := st.roomExpiry[r.Name]
	if armed && old.at == r.ExpireUnixSec {
		return
	}
	if armed {
		old.timer.Stop()
		delete(st.roomExpiry, r.Name)
	}
	if r.ExpireUnixSec == 0 {
		return
	}
	name := r.Name
	var t roomTimer
	t = roomTimer{at: r.ExpireUnixSec, timer: st.clock.AfterFunc(r.Expires().Sub(st.clock.Now()), func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if cur, ok := st.roomExpiry[name]; ok && cur.timer == t.timer {
			st.roomClosedLocked(name, "the room expired")
		}
	})}
	st.roomExpiry[name] = t
}

// roomClosedLocked ends a room's meeting here: every signalling connection
// in it is cut.
func (st *State) roomClosedLocked(name, reason string) {
	st.cuts.Add(1)
	if t, ok := st.roomExpiry[name]; ok {
		t.timer.Stop()
		delete(st.roomExpiry, name)
	}
	for c := range st.byRoom[name] {
		c.closeLocked(cutRoomEnded)
	}
	st.log().Info("room closed", zap.String("room", name), zap.String("reason", reason))
}

// loadRooms reads the rooms kept in Caddy's storage, once, into the
// in-memory store of a fresh State. A store that keeps itself (Redis) is
// the rooms' only home: a copy here could bring back a room deleted
// elsewhere.
func (st *State) loadRooms(ctx context.Context, s Store, log *zap.Logger) {
	st.mu.Lock()
	if st.roomsLoaded || s == nil || !st.inProcess() {
		st.mu.Unlock()
		return
	}
	st.roomsLoaded = true
	st.mu.Unlock()
	list, ok := loadStored[[]*Room](ctx, s, roomsKey, "the rooms", log)
	if !ok {
		return
	}
	now := st.clock.Now()
	for _, r := range list {
		if r == nil || r.expired(now) {
			continue
		}
		b, _ := json.Marshal(r)
		if err := st.shared.CreateRoom(ctx, r.Name, b, r.Expires()); err != nil && !errors.Is(err, cluster.ErrExists) {
			log.Warn("loading a kept room", zap.String("room", r.Name), zap.Error(err))
		}
	}
}

// participantsLocked lists the people connected to a room through this
// gateway now.
func (st *State) participantsLocked(room string) []Participant {
	out := []Participant{}
	for c := range st.byRoom[room] {
		if c.established && !c.closed && !c.lobby {
			out = append(out, c.who)
		}
	}
	return out
}

// event is the participant as a webhook tells of it.
func (p Participant) event() map[string]any {
	m := map[string]any{"name": p.Name, "isAdmin": p.IsAdmin}
	if p.Email != "" {
		m["email"] = p.Email
	}
	if p.ExternalUserID != "" {
		m["externalUserId"] = p.ExternalUserID
	}
	return m
}

// Participant is who is in a room, in Metered's words.
type Participant struct {
	Name           string    `json:"name"`
	Email          string    `json:"email,omitempty"`
	ExternalUserID string    `json:"externalUserId,omitempty"`
	IsAdmin        bool      `json:"isAdmin"`
	JoinedAt       time.Time `json:"joinedAt"`
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
