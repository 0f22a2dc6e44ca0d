package caddymodule

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/cluster"
)

// memoryStores keeps, per master secret, the shared state of a process
// that is not part of a cluster: the gateway and the media server of one
// process agree through it (a barred rejoin pass, an ended meeting), and it
// outlives config reloads.
var memoryStores = caddy.NewUsagePool()

type memoryStore struct{ *cluster.Memory }

func (memoryStore) Destruct() error { return nil }

// sharedState is the store this config's gateway or media server shares
// state through: the roomgate_cluster app's Redis, or this process's
// memory. The returned key, when not empty, is let go with letGoShared.
func sharedState(ctx caddy.Context, secret accesstoken.Secret) (store cluster.Store, c *Cluster, key string, err error) {
	switch app, err := ctx.AppIfConfigured("roomgate_cluster"); {
	case err == nil:
		c := app.(*Cluster)
		return c.store, c, "", nil
	case !errors.Is(err, caddy.ErrNotConfigured):
		return nil, nil, "", err
	}
	key = "memory/" + secret.ID()
	v, _, err := memoryStores.LoadOrNew(key, func() (caddy.Destructor, error) {
		return memoryStore{cluster.NewMemory(nil)}, nil
	})
	if err != nil {
		return nil, nil, "", err
	}
	return v.(memoryStore).Memory, nil, key, nil
}

// letGoShared releases what sharedState took.
func letGoShared(key string) {
	if key != "" {
		memoryStores.Delete(key)
	}
}
