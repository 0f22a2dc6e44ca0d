package gateway

import (
	"context"
	"net/http"

	"github.com/roomgate/roomgate/accesstoken"
	"go.uber.org/zap"
)

// What the check (serveSignalCheck) tells a page about waiting, so that
// its words are true before the person presses Join.

// waitForHost answers host_absent: the browser gets its early pass (it
// goes to the lobby when the host comes), and the page learns what will
// happen then: "lobby" (the host lets them in) or "join" (an API room with
// admitEarlyArrivals lets them in at once).
func (g *Gateway) waitForHost(w http.ResponseWriter, room string, apiRoom *Room, rf *refusal) {
	then := "lobby"
	if apiRoom != nil && apiRoom.AdmitEarlyArrivals {
		then = "join"
	} else {
		g.markEarly(w, room)
	}
	writeJSON(w, rf.Status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Then    string `json:"then"`
	}{rf.Code, rf.Message, then})
}

// endedFor refuses, at the check, someone an admin's "end for all" would
// keep out (anyone but a host or an admin, for the media server's
// ended_for), so that the page says the meeting has ended before its
// pre-join screen instead of after Join. It is asked only once the door's
// own rules let the person through: it tells nobody more than the media
// server would tell them at once. The mark is the one the media server
// keeps in the shared state (the process's memory, or the cluster's
// Redis); a gateway that shares none with the media server does not see
// it, and the media server still refuses after Join. The store not
// answering refuses nothing here: the media server decides.
func (g *Gateway) endedFor(ctx context.Context, room string, role accesstoken.PeerRole) *refusal {
	if role == accesstoken.PeerHost || role == accesstoken.PeerAdmin {
		return nil
	}
	ctx, cancel := g.state.sharedCtx(ctx)
	defer cancel()
	st, err := g.state.shared.RoomState(ctx, room)
	if err != nil {
		g.log.Debug("reading whether a meeting ended", zap.Error(err))
		return nil
	}
	if g.state.clock.Now().Before(st.EndedUntil) {
		return refuse(http.StatusForbidden, "room_ended", "the meeting has ended")
	}
	return nil
}
