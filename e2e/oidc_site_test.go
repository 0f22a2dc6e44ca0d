package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/testidp"
)

// People at the test's identity provider, each a case of who may host.
var idpUsers = []testidp.User{
	// In the hosts' group.
	{Username: "carol", Password: "carol-Pa55", Email: "carol@partner.net", EmailVerified: true, Groups: []string{"meet-hosts"}, Name: "Carol Host"},
	// In a group that may open retro only.
	{Username: "dave", Password: "dave-Pa55", Email: "dave@partner.net", EmailVerified: true, Groups: []string{"sales"}},
	// At the allowed domain, verified.
	{Username: "frank", Password: "frank-Pa55", Email: "frank@example.com", EmailVerified: true},
	// At the allowed domain, but the provider never verified it.
	{Username: "erin", Password: "erin-Pa55", Email: "erin@example.com", EmailVerified: false},
	// In no allowed group, at no allowed domain.
	{Username: "mallory", Password: "mallory-Pa55", Email: "mallory@partner.net", EmailVerified: true, Groups: []string{"staff"}},
	// Hosts nothing; in the group a user_auth site may let in as participants.
	{Username: "grace", Password: "grace-Pa55", Email: "grace@partner.net", EmailVerified: true, Groups: []string{"attendees"}, Name: "Grace Hopper"},
}

const idpSecretEnv = "ROOMGATE_TEST_OIDC_SECRET"

// idpSite is a media site whose hosts log in through a real OpenID
// Provider, with the audit log in a file.
type idpSite struct {
	*mediaSite
	idp   *testidp.Provider
	audit string
}

// idpWords is the oidc block for issuer.
func idpWords(issuer string) string {
	return fmt.Sprintf(`oidc %s {
			client_id %s
			client_secret {env.%s}
			label "Acme SSO"
			allow group meet-hosts
			allow group sales rooms retro
			allow email_domain example.com
		}`, issuer, testidp.ClientID, idpSecretEnv)
}

func newIDPSite(t testing.TB, idp *testidp.Provider, issuer, words string) *idpSite {
	t.Helper()
	return newIDPSiteWith(t, idp, idpWords(issuer), words)
}

// newIDPSiteWith is newIDPSite with an oidc block of the test's own.
func newIDPSiteWith(t testing.TB, idp *testidp.Provider, oidcWords, words string) *idpSite {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "audit.log")
	s := newMediaSiteConfig(t, siteConfig{
		noUsers: true,
		words:   oidcWords + "\n\t\t" + words,
		globals: fmt.Sprintf("log audit {\n\t\tinclude roomgate.audit\n\t\toutput file %s\n\t\tformat json\n\t}", audit),
		env:     []string{idpSecretEnv + "=" + testidp.ClientSecret},
	})
	return &idpSite{mediaSite: s, idp: idp, audit: audit}
}

// auditHas waits for an audit line of event whose fields include want.
func (s *idpSite) auditHas(t testing.TB, event string, want map[string]any) {
	t.Helper()
	if !eventually(10*time.Second, func() bool { return s.auditCount(event, want) > 0 }) {
		b, _ := os.ReadFile(s.audit)
		t.Fatalf("the audit log has no %s with %v; it holds:\n%s", event, want, b)
	}
}

// idpClient is a person's Go HTTP client that logs in through the
// provider's own form, as a browser does, from address ip. It follows
// redirects itself, to hold the callback URL and the binding cookie as an
// attacker would.
type idpClient struct {
	t    testing.TB
	port int // the site's
	http *http.Client
}

func newIDPClient(t testing.TB, port int, ip string) *idpClient {
	return newIDPClientVia(t, port, port, ip)
}

// newIDPClientVia is newIDPClient whose requests to the site at port reach
// the gateway at via: another gateway of the same site, as behind a load
// balancer.
func newIDPClientVia(t testing.TB, port, via int, ip string) *idpClient {
	all, _ := cookiejar.New(nil)
	site := fmt.Sprintf("localhost:%d", port)
	jar := providerJar{all, site}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == site {
			return d.DialContext(ctx, "tcp4", fmt.Sprintf("127.0.0.1:%d", via))
		}
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp4", addr) // the provider, on 127.0.0.1
	}}
	return &idpClient{t: t, port: port, http: &http.Client{
		Transport: tr, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// providerJar keeps the provider's cookies only: the site's binding
// cookie is sent by hand, or not, as each case needs.
type providerJar struct {
	http.CookieJar
	site string
}

func (j providerJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if u.Host != j.site {
		j.CookieJar.SetCookies(u, cookies)
	}
}

func (j providerJar) Cookies(u *url.URL) []*http.Cookie {
	if u.Host == j.site {
		return nil
	}
	return j.CookieJar.Cookies(u)
}

func (c *idpClient) send(req *http.Request) answer {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

func (c *idpClient) get(u string, cookie *http.Cookie) answer {
	c.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return c.send(req)
}

// begin presses "Log in with …": it returns the browser's binding cookie
// and where the site sends the browser.
func (c *idpClient) begin() (*http.Cookie, string) {
	c.t.Helper()
	a := c.get(siteURL(c.port, "/login/oidc?next=/join/standup"), nil)
	if a.status != http.StatusSeeOther {
		c.t.Fatalf("starting a login: %d %s", a.status, a.body)
	}
	var bound *http.Cookie
	for _, ck := range (&http.Response{Header: a.header}).Cookies() {
		if ck.Name == "__Host-roomgate_oidc" {
			bound = &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	if bound == nil {
		c.t.Fatal("starting a login set no binding cookie")
	}
	return bound, a.header.Get("Location")
}

var formID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signIn fills in the provider's login form as user and returns the
// callback URL the provider sends the browser back to.
func (c *idpClient) signIn(authURL, user, pass string) string {
	c.t.Helper()
	u := authURL
	for range 10 {
		a := c.get(u, nil)
		switch {
		case a.status/100 == 3:
			next, err := url.Parse(a.header.Get("Location"))
			if err != nil {
				c.t.Fatal(err)
			}
			prev, _ := url.Parse(u)
			u = prev.ResolveReference(next).String()
			if strings.Contains(u, "/login/oidc/callback") {
				return u
			}
		case a.status == http.StatusOK && formID.Match(a.body):
			id := string(formID.FindSubmatch(a.body)[1])
			prev, _ := url.Parse(u)
			form := url.Values{"id": {id}, "username": {user}, "password": {pass}}
			req, _ := http.NewRequest("POST", prev.ResolveReference(&url.URL{Path: "/login/username"}).String(), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			b := c.send(req)
			if b.status/100 != 3 {
				c.t.Fatalf("the provider's form refused %s: %d %s", user, b.status, b.body)
			}
			next, _ := url.Parse(b.header.Get("Location"))
			u = prev.ResolveReference(next).String()
		default:
			c.t.Fatalf("the provider answered %s with %d %s", u, a.status, a.body)
		}
	}
	c.t.Fatal("the provider never sent the browser back")
	return ""
}

// refusedWith checks a callback's answer: the login page, with status,
// saying why under code, and no host cookie.
func refusedWith(t testing.TB, a answer, status int, code, words string) {
	t.Helper()
	if a.status != status || !strings.Contains(string(a.body), `data-error="`+code+`"`) || !strings.Contains(string(a.body), words) {
		t.Fatalf("answer %d, want %d with %s (%q):\n%s", a.status, status, code, words, a.body)
	}
	if strings.Contains(strings.Join(a.header.Values("Set-Cookie"), "\n"), "__Host-roomgate_host=e") {
		t.Fatal("a refused login set the host cookie")
	}
}
