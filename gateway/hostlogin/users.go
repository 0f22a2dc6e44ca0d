package hostlogin

import (
	"crypto/rand"
	"fmt"
	"slices"
	"sync"

	"github.com/roomgate/roomgate/accesstoken"
	"golang.org/x/crypto/bcrypt"
)

// User is a host who may log in.
type User struct {
	Name string
	// Hash is the hash of the password.
	Hash []byte
	// Comparer checks a password against Hash; nil: bcrypt.
	Comparer Comparer
	// Rooms limits the rooms the user may open; empty means all.
	Rooms []string
}

// Comparer checks a password against a stored hash: Caddy's bcrypt and
// argon2id comparers, in roomgate.
type Comparer interface {
	Compare(hashed, plaintext []byte) (bool, error)
}

// MayEnter says whether the user may open room.
func (u *User) MayEnter(room string) bool {
	return len(u.Rooms) == 0 || slices.Contains(u.Rooms, room)
}

// fakeHashes holds, per bcrypt cost, a hash of a random password. An unknown
// user is compared against it, so that an unknown name costs what a wrong
// password costs. Made once per process and cost: at cost 14 that is a second.
var fakeHashes sync.Map // int → []byte

func fakeHash(cost int) []byte {
	if h, ok := fakeHashes.Load(cost); ok {
		return h.([]byte)
	}
	pw := make([]byte, 32)
	rand.Read(pw)
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		panic("hostlogin: bcrypt: " + err.Error())
	}
	actual, _ := fakeHashes.LoadOrStore(cost, h)
	return actual.([]byte)
}

// users is the configured hosts, and what an unknown name is checked as.
type users struct {
	byName   map[string]*User
	fakeHash []byte // for a site with no users
	decoy    *User  // the user an unknown name is checked as
}

func newUsers(list []User) users {
	u := users{byName: make(map[string]*User, len(list))}
	for i := range list {
		x := list[i]
		u.byName[x.Name] = &x
	}
	u.decoy = decoyUser(u.byName)
	if u.decoy == nil {
		u.fakeHash = fakeHash(bcrypt.DefaultCost)
	}
	return u
}

// checkPassword returns the user when name and password match, and nil
// otherwise, with one comparison either way. An unknown name is compared
// against the costliest configured user's own hash (a random password
// cannot match it), so it costs exactly what a wrong password costs,
// whatever the algorithm.
func (us *users) checkPassword(name, password string) *User {
	u := us.byName[name]
	known := u != nil
	if !known {
		u = us.decoy
	}
	var ok bool
	if u == nil {
		ok = bcrypt.CompareHashAndPassword(us.fakeHash, []byte(password)) == nil
	} else if u.Comparer != nil {
		ok, _ = u.Comparer.Compare(u.Hash, []byte(password))
	} else {
		ok = bcrypt.CompareHashAndPassword(u.Hash, []byte(password)) == nil
	}
	if !ok || !known {
		return nil
	}
	return u
}

// decoyUser is the user an unknown name is checked as: the one whose hash
// costs most to compare (bcrypt's cost; argon2id counts as costliest).
func decoyUser(users map[string]*User) *User {
	var best *User
	bestCost := -1
	for _, u := range users {
		c, err := bcrypt.Cost(u.Hash)
		if err != nil {
			c = 1 << 10 // argon2id: compared by its own parameters
		}
		if c > bestCost || (c == bestCost && u.Name < best.Name) {
			best, bestCost = u, c
		}
	}
	return best
}

// CheckUsers says what is wrong with a list of users, for the
// configuration's errors.
func CheckUsers(list []User) []error {
	var errs []error
	seen := map[string]bool{}
	for _, u := range list {
		if u.Name == "" || len(u.Name) > maxUsernameLen {
			errs = append(errs, fmt.Errorf("user name %q must be 1-%d bytes", u.Name, maxUsernameLen))
		}
		if seen[u.Name] {
			errs = append(errs, fmt.Errorf("user %q is configured twice", u.Name))
		}
		seen[u.Name] = true
		if _, err := bcrypt.Cost(u.Hash); err != nil && u.Comparer == nil {
			errs = append(errs, fmt.Errorf("user %q: password is not a bcrypt hash (make one with `roomgate hash-password`)", u.Name))
		}
		for _, r := range u.Rooms {
			if !accesstoken.ValidRoom(r) {
				errs = append(errs, fmt.Errorf("user %q: room %q must be 1-64 of A-Z a-z 0-9 _ -", u.Name, r))
			}
		}
	}
	return errs
}
