package caddymodule

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/certmagic"
	"github.com/roomgate/roomgate/accesstoken"
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
