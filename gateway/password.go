package gateway

import (
	"crypto/rand"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

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
		panic("gateway: bcrypt: " + err.Error())
	}
	actual, _ := fakeHashes.LoadOrStore(cost, h)
	return actual.([]byte)
}

// checkPassword returns the user when name and password match, and nil
// otherwise, with one comparison either way. An unknown name is compared
// against the costliest configured user's own hash (a random password
// cannot match it), so it costs exactly what a wrong password costs,
// whatever the algorithm.
func (g *Gateway) checkPassword(name, password string) *User {
	u := g.users[name]
	known := u != nil
	if !known {
		u = g.decoy
	}
	var ok bool
	if u == nil {
		ok = bcrypt.CompareHashAndPassword(g.fakeHash, []byte(password)) == nil
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
