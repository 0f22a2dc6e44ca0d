// Package oidc logs hosts in with the organisation's OpenID Connect
// provider: the authorization code flow with PKCE (S256), its state and
// nonce bound to the browser that started it (binding.go) and used once
// across every gateway of a site (the shared store), the ID token verified
// with go-oidc against the provider's published keys and the algorithms it
// announces (idtoken.go), and the operator's rule of who may be a host
// (person.go). A login that passes is a host session like a password's
// (hostlogin.Logins.LoginVouched), keeping the provider's issuer, subject
// and session id for a back-channel logout (backchannel.go), which ends
// them on every gateway. On a user_auth site a login from a room's page
// may make a participant instead (participant.go); roomgate's logout of a
// login through the provider sends the browser on to its end of session
// (endsession.go).
//
// It must never log or show the client secret, a code, a token or the
// browser's binding; it knows nothing of rooms' rules, admissions or
// connections, and nothing of Caddy.
package oidc
