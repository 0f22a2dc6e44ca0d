package gateway

import (
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
	"github.com/roomgate/roomgate/web"
	"go.uber.org/zap"
)

// pageData is what a page template knows of the gateway.
type pageData struct {
	Room          string
	SignalPath    string
	HostProtected bool
	UserAuth      bool
	// IdPLabel names the identity provider on the login button; "": none.
	IdPLabel string
	// PasswordLogin shows the password form: users are configured, or no
	// identity provider is.
	PasswordLogin bool
	// Refusal is why the login page was shown instead of a login.
	Refusal *httperror.Refusal
}

// joinLinkParams are the room initialization URL's settings kept across the
// redirect; token, username and password are not among them.
var joinLinkParams = []string{"name", "audio", "video", "screen", "notify", "hide", "relay", "prejoin"}

var pages = template.Must(template.ParseFS(web.Pages, "pages/*.html"))

var assets = func() http.Handler {
	sub, err := fs.Sub(web.Assets, "assets")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/assets/", http.FileServerFS(sub))
}()

// servePage renders one page with the headers every page carries.
func (g *Gateway) servePage(w http.ResponseWriter, r *http.Request, name string, status int, room string) {
	g.servePageData(w, r, name, status, pageData{Room: room})
}

// refuseOnLoginPage answers a login that failed with the login page, which
// says why, under the refusal's status.
func (g *Gateway) refuseOnLoginPage(w http.ResponseWriter, r *http.Request, rf *httperror.Refusal) {
	if rf.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rf.RetryAfter.Seconds()))))
	}
	g.servePageData(w, r, "login.html", rf.Status, pageData{Refusal: rf})
}

// servePageData renders a page from d and what every page knows of the
// gateway, with the headers every page carries.
func (g *Gateway) servePageData(w http.ResponseWriter, r *http.Request, name string, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"media-src 'self' blob: mediastream:; connect-src 'self' ws://"+r.Host+" wss://"+r.Host+"; "+
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	w.WriteHeader(status)
	d.SignalPath, d.HostProtected, d.UserAuth = g.cfg.SignalPath, g.cfg.HostProtected, g.cfg.UserAuth
	d.PasswordLogin = len(g.cfg.Users) > 0 || g.oidc == nil
	if g.oidc != nil {
		d.IdPLabel = g.oidc.Label()
	}
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		g.log.Error("rendering a page", zap.String("page", name), zap.Error(err))
	}
}

// serveRoomPage is GET /join/{room}.
func (g *Gateway) serveRoomPage(w http.ResponseWriter, r *http.Request, room string) {
	if !accesstoken.ValidRoom(room) {
		g.servePage(w, r, "badroom.html", http.StatusNotFound, "")
		return
	}
	g.servePage(w, r, "room.html", http.StatusOK, room)
}

// serveJoinLink is the room initialization URL, GET /join?room=…. A link that
// carries a token, or a username and password, is answered with a 303 to the
// same room without them; the token (made from the credentials where needed)
// moves to the URL fragment, which no server, log or Referer sees.
func (g *Gateway) serveJoinLink(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	room := q.Get("room")
	if !accesstoken.ValidRoom(room) {
		g.servePage(w, r, "badroom.html", http.StatusNotFound, "")
		return
	}
	keep := url.Values{}
	for _, k := range joinLinkParams {
		if v := q.Get(k); v != "" && len(v) <= 256 {
			keep.Set(k, v)
		}
	}
	target := "/join/" + room
	if len(keep) > 0 {
		target += "?" + keep.Encode()
	}
	token := q.Get("token")
	user, pass := q.Get("username"), q.Get("password")
	switch {
	case user != "" || pass != "":
		tok, exp, rf := g.logins.Login(r, hostlogin.Credentials{Username: strings.TrimSpace(user), Password: pass}, g.cfg.ClientIP(r))
		if rf != nil {
			hostlogin.SeeOther(w, "/login?"+url.Values{"next": {target}, "error": {rf.Code}}.Encode())
			return
		}
		hostlogin.SetCookie(w, tok, exp)
		token = tok
	case token != "":
		if len(token) > accesstoken.MaxTokenLen {
			hostlogin.SeeOther(w, target)
			return
		}
	default:
		g.servePage(w, r, "room.html", http.StatusOK, room)
		return
	}
	hostlogin.SeeOther(w, target+"#peer_token="+url.QueryEscape(token))
}
