package caddymodule

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics go to Caddy's registry (its /metrics) under roomgate_, read from
// the running servers at scrape time. The servers outlive a reload; each
// config registers its collectors in its own registry. No label names a
// room, a peer or an address.

// registerCollector adds c to the config's registry; a second registration
// of the same collector is not an error.
func registerCollector(ctx caddy.Context, c prometheus.Collector) error {
	err := ctx.GetMetricsRegistry().Register(c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		return nil
	}
	return err
}

// statCollector turns a snapshot of counters into metrics at each scrape.
type statCollector struct {
	descs []*prometheus.Desc
	read  func(emit func(desc *prometheus.Desc, kind prometheus.ValueType, v float64, labels ...string))
}

func (s *statCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
}

func (s *statCollector) Collect(ch chan<- prometheus.Metric) {
	s.read(func(d *prometheus.Desc, kind prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, kind, v, labels...)
	})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("roomgate_"+name, help, labels, nil)
}
