// Package hostlogin is how hosts log in: the users and their password
// hashes, the login limits (per address, per username, bcrypt slots), host
// sessions in the shared store (cluster.Store), the host cookie that
// carries a login to every tab, GET /session and logout.
//
// The door (package gateway) asks it one question: given the host session a
// request's token names, as the shared store holds it, may that login be
// used from this address for this room (Logins.Host)? It must not know
// rooms' rules, admissions, connections or the API; it never logs a
// password, a hash or a token.
package hostlogin
