package caddymodule

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/certmagic"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/restapi"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "turn-secret",
		Usage: "[--secret <master secret>]",
		Short: "Prints the TURN REST shared secret derived from the master secret",
		Long: `
Prints the shared secret that TURN credentials are signed with, derived from
roomgate's master secret: what coturn takes as static-auth-secret (with
use-auth-secret), for a deployment that runs coturn instead of the turn app.

The master secret comes from --secret, else from $ROOMGATE_SECRET, else from
the one roomgate generated and kept in Caddy's default file storage.`,
		Flags: func() *flag.FlagSet {
			fs := flag.NewFlagSet("turn-secret", flag.ExitOnError)
			fs.String("secret", "", "the master secret (default: $ROOMGATE_SECRET, then the stored one)")
			return fs
		}(),
		Func: cmdTURNSecret,
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "token",
		Usage: "--room <room> | --global  [--admin] [--name <n>] [--email <e>] [--meta <m>] [--external-user-id <id>] [--ttl <dur> | --expire <unix>] [--not-before <unix>] [--eject-after <dur>] [--eject-at-exp] [--secret <master secret>]",
		Short: "Mints a peer token from the master secret",
		Long: `
Mints a peer token on the command line, with the properties of the REST API's
POST /api/v1/token (docs/api.md), for scripts and tests. It needs the master
secret the server uses: --secret, else $ROOMGATE_SECRET, else the one roomgate
generated and kept in Caddy's default file storage. The token goes to stdout,
nothing else does.`,
		Flags: func() *flag.FlagSet {
			fs := flag.NewFlagSet("token", flag.ExitOnError)
			fs.String("room", "", "the room the token is for")
			fs.Bool("global", false, "a token for every room")
			fs.Bool("admin", false, "isAdmin: may let people in, remove them, lock and end the meeting")
			fs.String("name", "", "the display name")
			fs.String("email", "", "email")
			fs.String("meta", "", "meta, at most 1000 characters")
			fs.String("external-user-id", "", "externalUserId")
			fs.Duration("ttl", time.Hour, "lifetime, when --expire is not given")
			fs.Int("expire", 0, "expireUnixSec")
			fs.Int("not-before", 0, "notBeforeUnixSec")
			fs.Duration("eject-after", 0, "ejectAfterElapsedTimeInSec, as a duration")
			fs.Bool("eject-at-exp", false, "ejectAtTokenExp: removed from the call when the token expires")
			fs.Int("max-uses", 0, "maxUses: how many joins the token opens (1: a single-use link; 0: any)")
			fs.String("secret", "", "the master secret (default: $ROOMGATE_SECRET, then the stored one)")
			return fs
		}(),
		Func: cmdToken,
	})
}

func cmdToken(fl caddycmd.Flags) (int, error) {
	s, err := commandSecret(fl.String("secret"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	// The API's words for the room are roomName and globalToken; here they
	// are flags, and the message says so.
	if (fl.String("room") == "") == !fl.Bool("global") {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("give --room <name> or --global, not both")
	}
	p := restapi.TokenProperties{
		RoomName: fl.String("room"), GlobalToken: fl.Bool("global"), IsAdmin: fl.Bool("admin"),
		Name: fl.String("name"), Email: fl.String("email"), Meta: fl.String("meta"),
		ExternalUserID: fl.String("external-user-id"), ExpireUnixSec: int64(fl.Int("expire")),
		NotBeforeUnixSec:           int64(fl.Int("not-before")),
		EjectAfterElapsedTimeInSec: int64(fl.Duration("eject-after") / time.Second),
		EjectAtTokenExp:            fl.Bool("eject-at-exp"),
		MaxUses:                    fl.Int("max-uses"),
	}
	c, err := p.Claims(time.Now(), fl.Duration("ttl"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	tok, _, err := accesstoken.NewIssuer(s, nil).Mint(c)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	fmt.Println(tok)
	return caddy.ExitCodeSuccess, nil
}

func cmdTURNSecret(fl caddycmd.Flags) (int, error) {
	s, err := commandSecret(fl.String("secret"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	fmt.Println(accesstoken.TURNSharedSecret(s))
	return caddy.ExitCodeSuccess, nil
}

// commandSecret finds the master secret for a command run outside a config.
func commandSecret(flagValue string) (accesstoken.Secret, error) {
	if flagValue == "" {
		flagValue = os.Getenv("ROOMGATE_SECRET")
	}
	if flagValue != "" {
		return accesstoken.NewSecret([]byte(flagValue))
	}
	storage := &certmagic.FileStorage{Path: caddy.AppDataDir()}
	s, err := loadSecret(caddy.Context{Context: context.Background()}, storage.Load)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no master secret: give --secret or $ROOMGATE_SECRET, or run roomgate once so it makes one in %s", storage.Path)
	}
	return s, err
}
