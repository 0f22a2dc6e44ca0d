package caddymodule

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/roomgate/roomgate/accesstoken"
)

// secretStorageKey is where a generated master secret is kept in Caddy's
// storage, so tokens survive a restart and every part of one deployment that
// shares the storage agrees on it.
const secretStorageKey = "roomgate/master_secret"

// masterSecret returns the configured secret (placeholders such as
// {env.ROOMGATE_SECRET} expanded), or the one kept in Caddy's storage, made
// on first use.
func masterSecret(ctx caddy.Context, configured string) (accesstoken.Secret, error) {
	configured = caddy.NewReplacer().ReplaceKnown(configured, "")
	if configured != "" {
		s, err := accesstoken.NewSecret([]byte(configured))
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		return s, nil
	}
	storage := ctx.Storage()
	if s, err := loadSecret(ctx, storage.Load); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := storage.Lock(ctx, secretStorageKey); err != nil {
		return nil, fmt.Errorf("locking the stored secret: %w", err)
	}
	defer storage.Unlock(ctx, secretStorageKey)
	// Another instance may have made it while we waited for the lock.
	if s, err := loadSecret(ctx, storage.Load); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	s := accesstoken.GenerateSecret()
	if err := storage.Store(ctx, secretStorageKey, []byte(base64.StdEncoding.EncodeToString(s))); err != nil {
		return nil, fmt.Errorf("storing a new secret: %w", err)
	}
	ctx.Logger().Info("generated a master secret and kept it in storage", zap.String("key", secretStorageKey))
	return s, nil
}

func loadSecret(ctx caddy.Context, load func(context.Context, string) ([]byte, error)) (accesstoken.Secret, error) {
	b, err := load(ctx, secretStorageKey)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return nil, fmt.Errorf("the secret kept in storage at %s is damaged: %w", secretStorageKey, err)
	}
	s, err := accesstoken.NewSecret(raw)
	if err != nil {
		return nil, fmt.Errorf("the secret kept in storage at %s: %w", secretStorageKey, err)
	}
	return s, nil
}
