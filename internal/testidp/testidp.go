// Package testidp runs a real OpenID Provider for tests: zitadel/oidc's
// OpenID-certified op package, with the example storage and login form the
// library ships, on a loopback port, with the users a test gives (groups
// and email included). It can be made to answer a token request with an ID
// token the test forged (Forge), to try what a provider would never send.
package testidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is a person the provider knows.
type User struct {
	Username, Password string
	Email              string
	EmailVerified      bool
	Groups             []string
	// Name is the full name (the name claim); "": none.
	Name string
}

// Client is the relying party registered with the provider.
const (
	ClientID     = "roomgate"
	ClientSecret = "test-client-secret-0123456789"
)

// Provider is one running OpenID Provider.
type Provider struct {
	Issuer string
	// Port is the provider's port on 127.0.0.1.
	Port  int
	key   *rsa.PrivateKey
	keyID string
	srv   *http.Server
	// forge, when set, makes the ID token of every token answer.
	forge atomic.Pointer[func(real jwt.MapClaims) string]
	// Tokens counts the token answers the provider gave.
	Tokens atomic.Int64
	users  userStore
	mu     sync.Mutex
	ended  []string // what end_session ended: Ended
}

// Start runs a provider on 127.0.0.1:port (0: any free port) until the
// test ends. The client may come back to any /login/oidc/callback on
// localhost or 127.0.0.1 (any port).
func Start(t testing.TB, port int, users ...User) *Provider {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("testidp: %v", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{Port: l.Addr().(*net.TCPAddr).Port, key: key, keyID: "test-key-1"}
	p.Issuer = fmt.Sprintf("http://127.0.0.1:%d", p.Port)
	byID := map[string]*storage.User{}
	groups := map[string][]string{}
	for i, u := range users {
		id := fmt.Sprintf("user-%d", i+1)
		first, last := u.Name, ""
		byID[id] = &storage.User{ID: id, Username: u.Username, Password: u.Password, FirstName: first, LastName: last,
			Email: u.Email, EmailVerified: u.EmailVerified}
		groups[id] = u.Groups
	}
	client := storage.WebClient(ClientID, ClientSecret,
		"http://localhost:*/login/oidc/callback", "http://127.0.0.1:*/login/oidc/callback")
	p.users = userStore(byID)
	st := &store{Storage: storage.NewStorageWithClients(userStore(byID), map[string]*storage.Client{ClientID: client}),
		p: p, groups: groups, names: byID}
	router := exampleop.SetupServer(p.Issuer, st, slog.New(slog.DiscardHandler), false)
	p.srv = &http.Server{Handler: p.tokens(router)}
	go p.srv.Serve(l)
	t.Cleanup(p.Close)
	return p
}

// Close stops the provider.
func (p *Provider) Close() { p.srv.Close() }

// Forge makes every token answer carry, instead of the real ID token, what
// f makes of its claims; nil: the real one again.
func (p *Provider) Forge(f func(real jwt.MapClaims) string) {
	if f == nil {
		p.forge.Store(nil)
		return
	}
	p.forge.Store(&f)
}

// tokens passes requests to the provider and, while a forger is set,
// replaces the ID token in its token answers.
func (p *Provider) tokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := p.forge.Load()
		if r.URL.Path != "/oauth/token" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var answer map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &answer) == nil {
			p.Tokens.Add(1)
			if raw, ok := answer["id_token"].(string); ok && f != nil {
				real := jwt.MapClaims{}
				if _, _, err := jwt.NewParser().ParseUnverified(raw, real); err == nil {
					answer["id_token"] = (*f)(real)
					body, _ = json.Marshal(answer)
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// Sign signs claims as the provider does: RS256 with its key.
func (p *Provider) Sign(c jwt.MapClaims) string {
	return p.sign(jwt.SigningMethodRS256, c, p.key)
}

// SignWithStrangerKey signs with another RSA key under the provider's key id.
func (p *Provider) SignWithStrangerKey(c jwt.MapClaims) string {
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	return p.sign(jwt.SigningMethodRS256, c, other)
}

// SignNone makes an unsigned token (alg none).
func (p *Provider) SignNone(c jwt.MapClaims) string {
	return p.sign(jwt.SigningMethodNone, c, jwt.UnsafeAllowNoneSignatureType)
}

// SignHMACWithPublicKey signs HS256 keyed with the provider's public key,
// as published (PEM and the JWK's modulus both tried by attackers): a
// verifier that took the key for an HMAC secret would accept it.
func (p *Provider) SignHMACWithPublicKey(c jwt.MapClaims) string {
	der, _ := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	return p.sign(jwt.SigningMethodHS256, c, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (p *Provider) sign(m jwt.SigningMethod, c jwt.MapClaims, key any) string {
	t := jwt.NewWithClaims(m, c)
	t.Header["kid"] = p.keyID
	s, err := t.SignedString(key)
	if err != nil {
		panic("testidp: signing: " + err.Error())
	}
	return s
}

// store is the library's example storage with the test's users, their
// groups in the ID token, and the provider's own signing key.
type store struct {
	*storage.Storage
	p      *Provider
	groups map[string][]string
	names  map[string]*storage.User
}

func (s *store) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if u := s.names[req.GetSubject()]; u != nil {
		info.Name = u.FirstName
		info.FamilyName, info.GivenName = "", ""
	}
	if g := s.groups[req.GetSubject()]; len(g) > 0 {
		info.AppendClaims("groups", g)
	}
	return nil
}

// GetClientByClientID puts the userinfo claims into the ID token (the
// example client leaves them to the userinfo endpoint) and lets the
// client come back to any port (redirect globs).
func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return idClient{c}, nil
}

type idClient struct{ op.Client }

func (idClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c idClient) RedirectURIGlobs() []string         { return c.RedirectURIs() }
func (c idClient) PostLogoutRedirectURIGlobs() []string {
	return []string{"http://localhost:*/login", "http://127.0.0.1:*/login"}
}

func (s *store) SigningKey(context.Context) (op.SigningKey, error) { return signingKey{s.p}, nil }
func (s *store) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s *store) KeySet(context.Context) ([]op.Key, error) { return []op.Key{publicKey{s.p}}, nil }

type signingKey struct{ p *Provider }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.p.key }
func (k signingKey) ID() string                                  { return k.p.keyID }

type publicKey struct{ p *Provider }

func (k publicKey) ID() string                         { return k.p.keyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.p.key.PublicKey }

type userStore map[string]*storage.User

func (u userStore) GetUserByID(id string) *storage.User { return u[id] }
func (u userStore) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u userStore) ExampleClientID() string { return "service" }
