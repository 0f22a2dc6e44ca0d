package oidc

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/gateway/hostlogin"
	"github.com/roomgate/roomgate/gateway/httperror"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

// The gateway's paths for a login through the provider.
const (
	StartPath    = "/login/oidc"
	CallbackPath = "/login/oidc/callback"
)

// Config is Settings and what the login needs from the gateway.
type Config struct {
	Settings
	// Key MACs the browser's binding cookie: derived from the master
	// secret, the same on every gateway of a site.
	Key    []byte
	Logins *hostlogin.Logins
	// Store remembers which logins were finished, across gateways; Bound
	// bounds one call to it.
	Store    cluster.Store
	Bound    func(context.Context) (context.Context, context.CancelFunc)
	ClientIP func(*http.Request) netip.Addr
	Clock    clockwork.Clock
	Log      *zap.Logger
	Tell     hostlogin.Observer
	// Audit hears of back-channel logouts and participants' logins.
	Audit Observer
	// Participant mints a participant's token; nil: logins through the
	// provider make hosts only (a site without user_auth).
	Participant ParticipantFunc
	// Refuse shows a refusal on the login page, with its status.
	Refuse func(http.ResponseWriter, *http.Request, *httperror.Refusal)
	// HTTPClient reaches the provider; nil: one with a 10 s timeout.
	HTTPClient *http.Client
}

// Login is one configuration's way to log hosts in through the provider.
type Login struct {
	cfg      Config
	provider atomic.Pointer[provider]
	stop     context.CancelFunc
	done     chan struct{}
}

// provider is what discovery learned: endpoints, keys, algorithms.
type provider struct {
	endpoint oauth2.Endpoint
	verifier *gooidc.IDTokenVerifier
	// endSession is its end_session_endpoint (RP-Initiated Logout); "":
	// it announces none (Google).
	endSession string
}

// New checks the settings and starts discovering the provider, again and
// again with growing pauses until it answers: a provider out of reach at
// start does not stop the site, and logins through it answer "the
// identity provider is unreachable" meanwhile.
func New(cfg Config) (*Login, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	ctx, stop := context.WithCancel(context.Background())
	l := &Login{cfg: cfg, stop: stop, done: make(chan struct{})}
	go l.discover(ctx)
	return l, nil
}

// Close stops the discovery, if it still runs.
func (l *Login) Close() {
	l.stop()
	<-l.done
}

// Label is the provider's name for the login button.
func (l *Login) Label() string { return l.cfg.Label }

// Ready says whether the provider has been discovered.
func (l *Login) Ready() bool { return l.provider.Load() != nil }

// Discovery retries: from the first pause to the longest.
const (
	firstRetry = time.Second
	maxRetry   = time.Minute
)

func (l *Login) discover(ctx context.Context) {
	defer close(l.done)
	wait := firstRetry
	for {
		p, err := l.discoverOnce(ctx)
		if err == nil {
			l.provider.Store(p)
			l.cfg.Log.Info("identity provider discovered", zap.String("issuer", l.cfg.Issuer))
			return
		}
		if ctx.Err() != nil {
			return
		}
		l.cfg.Log.Error("the identity provider cannot be reached; logins through it answer 503 until it can",
			zap.String("issuer", l.cfg.Issuer), zap.Error(err), zap.Duration("retry_in", wait))
		t := l.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.Chan():
		}
		wait = min(2*wait, maxRetry)
	}
}

// signingAlgs are the ID token algorithms roomgate takes: asymmetric ones
// only, never none and never an HMAC (whose key would be public).
var signingAlgs = []string{
	gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512,
	gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA,
}

func (l *Login) discoverOnce(ctx context.Context) (*provider, error) {
	ctx = gooidc.ClientContext(ctx, l.cfg.HTTPClient)
	p, err := gooidc.NewProvider(ctx, l.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var meta struct {
		Algs       []string `json:"id_token_signing_alg_values_supported"`
		EndSession string   `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, err
	}
	// Only what the provider announces, of what roomgate takes.
	var algs []string
	for _, a := range meta.Algs {
		if slices.Contains(signingAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		if len(meta.Algs) > 0 {
			return nil, fmt.Errorf("the provider signs ID tokens only with %v; roomgate takes RS, ES, PS or EdDSA signatures", meta.Algs)
		}
		algs = []string{gooidc.RS256} // what OpenID Connect Discovery says an empty list means
	}
	endSession := meta.EndSession
	if endSession != "" && CheckIssuer(endSession) != nil && !hasQuery(endSession) {
		l.cfg.Log.Warn("the provider's end_session_endpoint is not https; logging out will not end its session")
		endSession = ""
	}
	return &provider{
		endSession: endSession,
		endpoint:   p.Endpoint(),
		verifier:   p.Verifier(&gooidc.Config{ClientID: l.cfg.ClientID, SupportedSigningAlgs: algs, Now: l.cfg.Clock.Now}),
	}, nil
}

// oauth is the client's configuration for a request to this site.
func (l *Login) oauth(p *provider, r *http.Request) *oauth2.Config {
	scopes := append([]string{gooidc.ScopeOpenID}, l.cfg.Scopes...)
	return &oauth2.Config{
		ClientID: l.cfg.ClientID, ClientSecret: l.cfg.ClientSecret,
		Endpoint: p.endpoint, RedirectURL: redirectURL(r), Scopes: scopes,
	}
}

// redirectURL is the callback on the site the person is on; the provider
// takes only the ones registered with it.
func redirectURL(r *http.Request) string { return siteURL(r) + CallbackPath }

// siteURL is the origin of the site the person is on.
func siteURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
