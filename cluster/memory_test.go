package cluster_test

import (
	"testing"

	"github.com/roomgate/roomgate/cluster"
	"github.com/roomgate/roomgate/cluster/clustertest"
)

func TestMemory(t *testing.T) {
	clustertest.Run(t, func(t *testing.T) (cluster.Store, cluster.Store) {
		m := cluster.NewMemory(nil)
		return m, m
	})
}
