package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/hostlogin/oidc"
	"github.com/roomgate/roomgate/webhook"
	"go.uber.org/zap"
)

// Next is the handler after the gateway, reverse_proxy in a Caddyfile.
type Next func(http.ResponseWriter, *http.Request) error

// Gateway is one configured gateway over a State that may outlive it.
type Gateway struct {
	cfg        Config
	logins     *hostlogin.Logins
	oidc       *oidc.Login // nil: no login through an identity provider
	api        APIHandler  // nil: no REST API here
	issuer     *accesstoken.Issuer
	admissions *accesstoken.Admissions
	turnSecret string // TURN REST shared secret, for the credentials in admissions
	state      *State
	log        *zap.Logger
}

// New checks cfg and returns a Gateway keyed from secret over st.
func New(cfg Config, secret accesstoken.Secret, st *State) (*Gateway, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:        cfg,
		issuer:     accesstoken.NewIssuer(secret, st.clock.Now),
		admissions: accesstoken.NewAdmissions(secret, st.clock.Now),
		turnSecret: accesstoken.TURNSharedSecret(secret),
		state:      st,
		log:        cfg.Logger,
	}
	idpIssuer := ""
	if cfg.OIDC != nil {
		idpIssuer = cfg.OIDC.Issuer
	}
	var endSession func(*http.Request) string
	if cfg.OIDC != nil {
		// g.oidc is made below, with g.logins.
		endSession = func(r *http.Request) string { return g.oidc.EndSessionURL(r) }
	}
	g.logins = hostlogin.New(hostlogin.Config{
		Users: cfg.Users, IdPIssuer: idpIssuer, EndSession: endSession, TTL: cfg.TokenTTL, ClientIP: cfg.ClientIP, Issuer: g.issuer,
		Store: st.shared, Bound: st.sharedCtx, Guard: st.guard, Clock: st.clock, Log: cfg.Logger,
		Tell: loginEvents{g},
	})
	if cfg.OIDC != nil {
		var err error
		g.oidc, err = oidc.New(oidc.Config{
			Settings: *cfg.OIDC, Key: secret.Key(accesstoken.PurposeOIDCLogin), Logins: g.logins,
			Store: st.shared, Bound: st.sharedCtx, ClientIP: cfg.ClientIP, Clock: st.clock,
			Log: cfg.Logger, Tell: loginEvents{g}, Audit: loginEvents{g}, Refuse: g.refuseOnLoginPage,
			Participant: g.participantFunc(),
		})
		if err != nil {
			return nil, err
		}
	}
	st.logger.Store(cfg.Logger)
	// Bounded: the shared store may be out of reach at start; the gateway
	// then starts anyway, refuses admissions, and catches up when it answers.
	ctx, cancel := context.WithTimeout(context.Background(), 4*sharedTimeout)
	defer cancel()
	st.loadRevoked(ctx, cfg.Store, cfg.Logger)
	st.loadRooms(ctx, cfg.Store, cfg.Logger)
	st.loadBans(ctx, cfg.Store, cfg.Logger)
	keep := func(ctx context.Context) { g.KeepBans(ctx) }
	st.keepBans.Store(&keep)
	if cfg.Store != nil {
		st.storage.Store(&cfg.Store)
	}
	st.loadWebhooks(ctx, cfg.Store, cfg.Logger)
	st.outbox.Configure(webhook.Config{URLs: cfg.Webhooks, Secret: cfg.WebhookSecret, RetryMax: cfg.WebhookRetryMax})
	return g, nil
}

// Close stops what this configuration runs beside its requests (the
// identity provider's discovery); the State lives on.
func (g *Gateway) Close() {
	if g.oidc != nil {
		g.oidc.Close()
	}
}

// ServeHTTP answers the gateway's own paths, in every spelling Caddy's path
// matchers take for them (paths.go), and hands everything else to next
// without any roomgate credential.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, next Next) error {
	clean := cleanPath(r.URL.Path)
	p := strings.ToLower(clean)
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if p == g.cfg.SignalPath {
		return g.serveSignal(w, r, next)
	}
	if !pagePath(p) {
		scrubPassing(r.Header)
		return g.passOn(w, r, next, read)
	}
	switch {
	case p == "/login" && r.Method == http.MethodPost:
		g.logins.ServeLogin(w, r)
	case p == "/logout":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			refuse(http.StatusMethodNotAllowed, "method_not_allowed", "log out with POST").Write(w)
			break
		}
		g.logins.ServeLogout(w, r)
	case p == oidc.BackchannelLogoutPath:
		g.serveBackchannelLogout(w, r)
	case p == "/owner-pass":
		g.serveOwnerPass(w, r)
	case p == "/invitation":
		g.serveInvitation(w, r)
	case p == "/api/v1" || strings.HasPrefix(p, "/api/v1/"):
		if g.api == nil {
			refuse(http.StatusNotFound, "not_found", "there is no API here").Write(w)
			break
		}
		g.api(w, r, strings.TrimPrefix(clean[min(len(clean), len("/api/v1")):], "/"))
	case !read:
		allow := "GET, HEAD"
		if p == "/login" {
			allow += ", POST"
		}
		w.Header().Set("Allow", allow)
		refuse(http.StatusMethodNotAllowed, "method_not_allowed", "this path takes "+allow).Write(w)
	case p == "/session":
		g.logins.ServeSession(w, r)
	case (p == oidc.StartPath || p == oidc.CallbackPath) && g.oidc == nil:
		g.servePage(w, r, "notfound.html", http.StatusNotFound, "")
	case p == oidc.StartPath:
		g.oidc.ServeStart(w, r)
	case p == oidc.CallbackPath:
		g.oidc.ServeCallback(w, r)
	case p == "/login":
		g.servePage(w, r, "login.html", http.StatusOK, "")
	case p == "/":
		g.servePage(w, r, "home.html", http.StatusOK, "")
	case p == "/join":
		g.serveJoinLink(w, r)
	case strings.HasPrefix(p, "/join/"):
		g.serveRoomPage(w, r, clean[len("/join/"):])
	case strings.HasPrefix(p, "/assets/"):
		r.URL.Path, r.URL.RawPath = clean, ""
		assets.ServeHTTP(w, r)
	default: // /assets
		g.servePage(w, r, "notfound.html", http.StatusNotFound, "")
	}
	return nil
}

// passOn hands a request that is not the gateway's to next. A page
// request nothing after the gateway answers (in the repository's
// Caddyfile, any path not the gateway's) gets a page saying so, not
// Caddy's empty 200.
func (g *Gateway) passOn(w http.ResponseWriter, r *http.Request, next Next, read bool) error {
	if !read {
		return next(w, r)
	}
	ww := &writeWatch{ResponseWriter: w}
	err := next(ww, r)
	if err == nil && !ww.wrote {
		g.servePage(w, r, "notfound.html", http.StatusNotFound, "")
	}
	return err
}

// writeWatch notes whether a handler wrote anything.
type writeWatch struct {
	http.ResponseWriter
	wrote bool
}

func (w *writeWatch) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *writeWatch) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer beneath (flushing,
// hijacking, deadlines).
func (w *writeWatch) Unwrap() http.ResponseWriter { return w.ResponseWriter }
