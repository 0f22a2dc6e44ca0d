package caddymodule

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
	"github.com/roomgate/roomgate/gateway"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
)

// mirotalkUser is one entry of MiroTalk's HOST_USERS.
type mirotalkUser struct {
	Username     string   `json:"username"`
	Password     string   `json:"password"`
	AllowedRooms []string `json:"allowed_rooms"`
}

// loadUsers gathers the user lines and users_json into one list. Plain
// passwords from users_json are hashed here, at the cost of the configured
// hashes, so that every login costs the same.
func (g *Gateway) loadUsers(log *zap.Logger) ([]gateway.User, error) {
	var users []gateway.User
	for _, u := range g.Users {
		cmp, err := comparerFor(u.Password)
		if err != nil {
			return nil, fmt.Errorf("the password of user %q is %v; make one with `roomgate hash-password`", u.Username, err)
		}
		users = append(users, gateway.User{Name: u.Username, Hash: []byte(u.Password), Comparer: cmp, Rooms: allRoomsIfStar(u.Rooms)})
	}
	raw := caddy.NewReplacer().ReplaceKnown(g.UsersJSON, "")
	if raw == "" {
		return users, nil
	}
	var list []mirotalkUser
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		// The JSON holds passwords: say where it broke, never what it holds.
		return nil, fmt.Errorf("users_json is not a JSON list of {username, password, allowed_rooms}: %s", jsonErrorPlace(err))
	}
	cost := bcrypt.DefaultCost
	for _, u := range users {
		if c, err := bcrypt.Cost(u.Hash); err == nil && c > cost {
			cost = c
		}
	}
	plain := 0
	for i, u := range list {
		if u.Username == "" || u.Password == "" {
			return nil, fmt.Errorf("users_json entry %d needs a username and a password", i+1)
		}
		hash := []byte(u.Password)
		cmp, err := comparerFor(u.Password)
		if err != nil {
			if len(u.Password) > 72 {
				return nil, fmt.Errorf("users_json: the password of %q is longer than bcrypt's 72 bytes", u.Username)
			}
			if hash, err = bcrypt.GenerateFromPassword([]byte(u.Password), cost); err != nil {
				return nil, fmt.Errorf("users_json: hashing the password of %q: %w", u.Username, err)
			}
			cmp = caddyauth.BcryptHash{}
			plain++
		}
		users = append(users, gateway.User{Name: u.Username, Hash: hash, Comparer: cmp, Rooms: allRoomsIfStar(u.AllowedRooms)})
	}
	if plain > 0 {
		log.Warn("users_json holds plain passwords; they were hashed at load, but they stay readable in the config: replace them with the output of `roomgate hash-password`",
			zap.Int("plain_passwords", plain))
	}
	return users, nil
}

// allRoomsIfStar reads MiroTalk's ["*"] as "every room".
func allRoomsIfStar(rooms []string) []string {
	if slices.Contains(rooms, "*") {
		return nil
	}
	return rooms
}

func jsonErrorPlace(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("wrong type for %q at byte %d", e.Field, e.Offset)
	}
	return "it could not be read"
}
