package oidc

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
)

// Participants on a user_auth site, where nobody joins without credentials
// or a token: a person who logs in through the provider from a room's page
// (the login's next, kept in its binding cookie) joins that room as its
// host when the allow rules let them host it, and else as a participant
// when the allow rules let them host some room or the participants rule
// admits them; anyone else is refused, as at the login page. A
// participant gets a token for that room only, carrying the provider's
// name for them and its subject (bans by identity: "idp:<sub>").

// Participant is whom the provider vouched for, to join room.
type Participant struct {
	Room    string
	User    string // the username claim's value, for the audit log
	Display string // the name shown in the room
	Subject string // the provider's sub
}

// ParticipantFunc mints a participant's token: the gateway's, which holds
// the keys. It returns the token and its id, or why not.
type ParticipantFunc func(r *http.Request, p Participant) (token, id string, rf *httperror.Refusal)

// joinRoom is the room whose page a login started from.
func joinRoom(next string) (string, bool) {
	u, err := url.Parse(next)
	if err != nil {
		return "", false
	}
	room, ok := strings.CutPrefix(u.Path, "/join/")
	return room, ok && accesstoken.ValidRoom(room)
}

// attend decides for a login from room's page: host (the person may host
// room), participant, or refused (errNotAllowed, errNoUsableName).
func (s *Settings) attend(c claims, room string) (p person, host bool, err error) {
	p, err = s.identify(c)
	if err != nil {
		return person{}, false, err
	}
	rooms, ok := s.Allow.match(c, s.GroupsClaim)
	if ok {
		p.rooms = rooms
		if len(rooms) == 0 || slices.Contains(rooms, room) {
			return p, true, nil
		}
		return p, false, nil
	}
	if _, ok := s.Participants.match(c, s.GroupsClaim); ok {
		return p, false, nil
	}
	return p, false, errNotAllowed
}

// admitParticipant hands a participant their token for room and sends the
// browser back to the room's page, the token in the fragment (which no
// server, log or Referer sees), as an invitation link does.
func (l *Login) admitParticipant(w http.ResponseWriter, r *http.Request, addr netip.Addr, next string, part Participant) {
	tok, id, rf := l.cfg.Participant(r, part)
	if rf != nil {
		l.refuse(w, r, rf, part.User, "minting the participant's token")
		return
	}
	l.cfg.Tell.LoginOutcome("ok")
	l.cfg.Audit.ParticipantLogin(addr, part.User, part.Room, id)
	hostlogin.SeeOther(w, next+"#peer_token="+url.QueryEscape(tok))
}
