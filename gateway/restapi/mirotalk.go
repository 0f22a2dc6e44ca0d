package restapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
)

// mirotalkJoin is the body of MiroTalk's POST /api/v1/join.
type mirotalkJoin struct {
	Room         string         `json:"room"`
	RoomPassword any            `json:"roomPassword"` // accepted for compatibility; rooms have no passwords here
	Name         string         `json:"name"`
	Avatar       any            `json:"avatar"`
	Audio        *bool          `json:"audio"`
	Video        *bool          `json:"video"`
	Screen       *bool          `json:"screen"`
	Hide         *bool          `json:"hide"`
	Notify       *bool          `json:"notify"`
	Duration     string         `json:"duration"`
	Token        *mirotalkToken `json:"token"`
}

// mirotalkToken is what MiroTalk put, password included, inside its JWT.
// Here the password is checked and never leaves the request.
type mirotalkToken struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	Presenter bool   `json:"presenter"`
	Expire    string `json:"expire"`
}

// siteURL is the site's own origin as the caller reached it.
func siteURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveMiroTalkMeeting is POST /api/v1/meeting: a new room's join link.
func (a *API) serveMiroTalkMeeting(w http.ResponseWriter, r *http.Request) {
	httperror.JSON(w, http.StatusOK, map[string]string{"meeting": siteURL(r) + "/join/" + accesstoken.NewID()[:12]})
}

// serveMiroTalkJoin is POST /api/v1/join: a room initialization URL. With
// token credentials, they are checked like a login and replaced by a peer
// token for that room (admin when presenter).
func (a *API) serveMiroTalkJoin(w http.ResponseWriter, r *http.Request) {
	var b mirotalkJoin
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	if !accesstoken.ValidRoom(b.Room) {
		httperror.Refuse(http.StatusBadRequest, "bad_room", "room must be 1-64 of A-Z a-z 0-9 _ -").Write(w)
		return
	}
	if !accesstoken.ValidDisplayName(b.Name) {
		httperror.Refuse(http.StatusBadRequest, "bad_name", "name must be at most 64 characters, without control characters").Write(w)
		return
	}
	q := url.Values{"room": {b.Room}}
	if b.Name != "" {
		q.Set("name", b.Name)
	}
	for k, v := range map[string]*bool{"audio": b.Audio, "video": b.Video, "screen": b.Screen, "hide": b.Hide, "notify": b.Notify} {
		if v != nil {
			q.Set(k, map[bool]string{true: "1", false: "0"}[*v])
		}
	}
	if t := b.Token; t != nil {
		ttl := a.g.Config().TokenTTL
		if t.Expire != "" {
			d, err := time.ParseDuration(strings.TrimSpace(t.Expire))
			if err != nil || d <= 0 || d > maxTokenLifetime {
				httperror.Refuse(http.StatusBadRequest, "bad_expire", "token.expire must be a duration such as 1h, up to a year").Write(w)
				return
			}
			ttl = d
		}
		u, rf := a.g.Logins().Check(r, hostlogin.Credentials{Username: strings.TrimSpace(t.Username), Password: t.Password}, a.g.Config().ClientIP(r))
		if rf != nil {
			rf.Write(w)
			return
		}
		if !u.MayEnter(b.Room) {
			httperror.Refuse(http.StatusForbidden, "room_not_allowed", "this user may not open this room").Write(w)
			return
		}
		tok, _, err := a.g.Issuer().Mint(accesstoken.Claims{
			Role: accesstoken.RolePeer, Room: b.Room, Admin: t.Presenter, Name: nameOr(b.Name, hostlogin.DisplayName(u.Name)),
			RegisteredClaims: jwt.RegisteredClaims{Subject: u.Name, ExpiresAt: jwt.NewNumericDate(a.g.Now().Add(ttl))},
		})
		if err != nil {
			httperror.Refuse(http.StatusInternalServerError, "internal", "the token could not be made").Write(w)
			return
		}
		q.Set("token", tok)
	}
	httperror.JSON(w, http.StatusOK, map[string]string{"join": fmt.Sprintf("%s/join?%s", siteURL(r), q.Encode())})
}
