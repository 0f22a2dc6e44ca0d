package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/internal/caddyrun"
)

func TestGeneratedSecretIsKeptAcrossRestarts(t *testing.T) {
	t.Parallel()
	up := newEchoUpstream(t, testSecret)
	port := caddyrun.FreePort(t)
	in := caddyrun.Start(t, fmt.Sprintf(`{
}
http://localhost:%d {
	roomgate {
		secret {$ROOMGATE_SECRET_UNSET}
		user_auth
		user alice %s
	}
	reverse_proxy /ws %s
}
`, port, testPasswordHash(t), up.addr()))

	path := filepath.Join(in.Dir, "caddy", "roomgate", "master_secret")
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no secret in storage: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(string(stored))
	if err != nil || len(raw) < accesstoken.MinSecretLen {
		t.Fatalf("stored secret is %d bytes (%v)", len(raw), err)
	}
	up.setSecret(raw)
	tok, _, err := accesstoken.NewIssuer(accesstoken.Secret(raw), nil).Mint(accesstoken.Claims{
		Role: accesstoken.RolePeer, Room: "standup",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPerson(t, "127.0.0.2", port)
	p.mustSignal("standup", signalOpts{token: tok})
	// A token minted with the test's secret is not one of this site's.
	p.refusedSignal("standup", signalOpts{token: mintPeer(t, accesstoken.Claims{Room: "standup"})}, 401)

	in.Restart()
	again, _ := os.ReadFile(path)
	if string(again) != string(stored) {
		t.Fatal("the stored secret changed across a restart")
	}
	p.mustSignal("standup", signalOpts{token: tok})
}
