package accesstoken

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// MinSecretLen is the shortest master secret accepted, in bytes.
const MinSecretLen = 32

// Purpose names what a derived key is for. Each purpose gets an unrelated key.
type Purpose string

// The purposes roomgate derives keys for. The strings are part of the key
// derivation: changing one invalidates every token of that kind.
const (
	PurposePeerToken Purpose = "roomgate/v1/peer-token"
	PurposeAdmission Purpose = "roomgate/v1/admission"
	PurposeTURN      Purpose = "roomgate/v1/turn"
	// PurposeOIDCLogin MACs the cookie that binds a login through an
	// identity provider to its browser.
	PurposeOIDCLogin Purpose = "roomgate/v1/oidc-login"
)

// Secret is the master secret from which every key is derived.
type Secret []byte

// NewSecret checks a configured master secret.
func NewSecret(s []byte) (Secret, error) {
	if len(s) < MinSecretLen {
		return nil, fmt.Errorf("secret is %d bytes; it must be at least %d", len(s), MinSecretLen)
	}
	return Secret(append([]byte(nil), s...)), nil
}

// GenerateSecret makes a random master secret.
func GenerateSecret() Secret {
	s := make([]byte, MinSecretLen)
	rand.Read(s) // crypto/rand.Read never fails on supported platforms
	return s
}

// Key derives the key for one purpose.
func (s Secret) Key(p Purpose) []byte {
	k, err := hkdf.Key(sha256.New, s, nil, string(p), sha256.Size)
	if err != nil {
		// Only possible for absurd output lengths, never for 32 bytes.
		panic("accesstoken: hkdf: " + err.Error())
	}
	return k
}

// ID is a short public fingerprint of the secret, safe to log and to use as a
// registry key: it reveals nothing of the secret.
func (s Secret) ID() string {
	sum := sha256.Sum256(s.Key("roomgate/v1/id"))
	return hex.EncodeToString(sum[:8])
}
