package restapi

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

// maxTokenLifetime bounds expireUnixSec: a token for longer than a year is
// a password in disguise.
const maxTokenLifetime = 366 * 24 * time.Hour

// TokenProperties are Metered's names for what a peer token carries: what
// POST /api/v1/token and `roomgate token` take.
type TokenProperties struct {
	IsAdmin                    bool   `json:"isAdmin"`
	RoomName                   string `json:"roomName,omitempty"`
	GlobalToken                bool   `json:"globalToken"`
	Name                       string `json:"name,omitempty"`
	Email                      string `json:"email,omitempty"`
	Meta                       string `json:"meta,omitempty"`
	ExternalUserID             string `json:"externalUserId,omitempty"`
	ExpireUnixSec              int64  `json:"expireUnixSec,omitempty"`
	NotBeforeUnixSec           int64  `json:"notBeforeUnixSec,omitempty"`
	EjectAfterElapsedTimeInSec int64  `json:"ejectAfterElapsedTimeInSec,omitempty"`
	EjectAtTokenExp            bool   `json:"ejectAtTokenExp"`
	// MaxUses makes an invitation that opens this many joins (1: a
	// single-use link); 0: any number.
	MaxUses int `json:"maxUses,omitempty"`
}

func propertiesOf(c *accesstoken.Claims) TokenProperties {
	p := TokenProperties{
		IsAdmin: c.Admin, RoomName: c.Room, GlobalToken: c.Global, Name: c.Name, Email: c.Email, Meta: c.Meta,
		ExternalUserID: c.ExternalUserID, EjectAfterElapsedTimeInSec: c.EjectAfter, EjectAtTokenExp: c.EjectAtExpiry,
		MaxUses: c.MaxUses,
	}
	if c.ExpiresAt != nil {
		p.ExpireUnixSec = c.ExpiresAt.Unix()
	}
	if c.NotBefore != nil {
		p.NotBeforeUnixSec = c.NotBefore.Unix()
	}
	return p
}

// Claims checks p and makes the claims of a peer token from it, valid for
// ttl from now unless p names an expiry. Its errors say which rule p breaks.
func (p TokenProperties) Claims(now time.Time, ttl time.Duration) (accesstoken.Claims, error) {
	if p.GlobalToken == (p.RoomName != "") {
		return accesstoken.Claims{}, errors.New("give a roomName or set globalToken, not both")
	}
	exp := now.Add(ttl)
	if p.ExpireUnixSec != 0 {
		exp = time.Unix(p.ExpireUnixSec, 0)
		if !exp.After(now) || exp.Sub(now) > maxTokenLifetime {
			return accesstoken.Claims{}, errors.New("expireUnixSec must be in the future and within a year")
		}
	}
	if p.EjectAfterElapsedTimeInSec < 0 {
		return accesstoken.Claims{}, errors.New("ejectAfterElapsedTimeInSec must not be negative")
	}
	c := accesstoken.Claims{
		Role: accesstoken.RolePeer, Room: p.RoomName, Global: p.GlobalToken, Admin: p.IsAdmin,
		Name: p.Name, Email: p.Email, Meta: p.Meta, ExternalUserID: p.ExternalUserID,
		EjectAfter: p.EjectAfterElapsedTimeInSec, EjectAtExpiry: p.EjectAtTokenExp, MaxUses: p.MaxUses,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)},
	}
	if p.NotBeforeUnixSec != 0 {
		if time.Unix(p.NotBeforeUnixSec, 0).After(exp) {
			return accesstoken.Claims{}, errors.New("notBeforeUnixSec is after the expiry")
		}
		c.NotBefore = jwt.NewNumericDate(time.Unix(p.NotBeforeUnixSec, 0))
	}
	return c, nil
}
