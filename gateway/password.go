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
// otherwise, with one bcrypt comparison either way.
func (g *Gateway) checkPassword(name, password string) *User {
	u := g.users[name]
	hash := g.fakeHash
	if u != nil {
		hash = u.Hash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u == nil {
		return nil
	}
	return u
}

// highestCost is the bcrypt cost the fake hash must match.
func highestCost(users []User) int {
	c := bcrypt.DefaultCost
	if len(users) > 0 {
		c = bcrypt.MinCost
	}
	for _, u := range users {
		if uc, err := bcrypt.Cost(u.Hash); err == nil && uc > c {
			c = uc
		}
	}
	return c
}
