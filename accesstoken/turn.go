package accesstoken

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // TURN REST credentials are HMAC-SHA1 by definition
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// TURNSharedSecret is the TURN REST shared secret derived from s: the value
// coturn calls static-auth-secret, for a deployment that runs coturn
// instead of roomgate's TURN server.
func TURNSharedSecret(s Secret) string { return hex.EncodeToString(s.Key(PurposeTURN)) }

// TURNCredential is one peer's TURN REST credential (draft-uberti-behave-
// turn-rest): the username is "<expiry unix seconds>:<user>", the password
// the base64 HMAC-SHA1 of the username under the shared secret.
type TURNCredential struct {
	Username string
	Password string
	Expires  time.Time
}

// MintTURN makes the credential for user, valid until expires.
func MintTURN(shared, user string, expires time.Time) TURNCredential {
	u := strconv.FormatInt(expires.Unix(), 10) + ":" + user
	return TURNCredential{Username: u, Password: TURNPassword(shared, u), Expires: time.Unix(expires.Unix(), 0)}
}

// TURNPassword is the password that goes with a TURN REST username.
func TURNPassword(shared, username string) string {
	mac := hmac.New(sha1.New, []byte(shared))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseTURNUsername splits a TURN REST username into its expiry and user.
func ParseTURNUsername(username string) (expires time.Time, user string, ok bool) {
	ts, user, found := strings.Cut(username, ":")
	if !found || user == "" || len(username) > 256 {
		return time.Time{}, "", false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, "", false
	}
	return time.Unix(sec, 0), user, true
}
