package caddymodule

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roomgate/roomgate/gateway"
	"github.com/roomgate/roomgate/mediaserver"
	"github.com/roomgate/roomgate/turnserver"
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

// Each collector sums over every running instance of its kind (the usage
// pools), so one registration per config covers them all.
var (
	gatewayCollector = newGatewayCollector()
	mediaCollector   = newMediaCollector()
	turnCollector    = newTURNCollector()
	clusterCollector = newClusterCollector()
	// clusterRoundTrip times each round trip to the cluster's Redis.
	clusterRoundTrip = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "roomgate_cluster_redis_roundtrip_seconds",
		Help:    "Time of one round trip to the cluster's Redis (a command, a script or a pipeline).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
)

func newClusterCollector() prometheus.Collector {
	var (
		up        = desc("cluster_redis_up", "1 when the cluster's Redis answered the last command, else 0.")
		events    = desc("cluster_events_applied_total", "Shared-state events this process applied, by kind.", "kind")
		failovers = desc("cluster_failovers_total", "Rooms moved off a media node that was gone, by the gateways of this process.")
		pins      = desc("cluster_pins", "Rooms this process's media node serves under a cluster pin.")
		moved     = desc("cluster_rooms_moved_total", "Rooms this process's media node lost to another node.")
	)
	return &statCollector{
		descs: []*prometheus.Desc{up, events, failovers, pins, moved},
		read: func(emit func(*prometheus.Desc, prometheus.ValueType, float64, ...string)) {
			clusterStores.Range(func(_, v any) bool {
				n := 0.0
				if v.(clusterStore).Up() {
					n = 1
				}
				emit(up, prometheus.GaugeValue, n)
				return false // one Redis per process
			})
			ev, fo := map[string]uint64{}, uint64(0)
			gatewayStates.Range(func(_, v any) bool {
				st := v.(*gateway.State).Stats()
				for k, n := range st.Events {
					ev[k] += n
				}
				fo += st.Failovers
				return true
			})
			for k, n := range ev {
				emit(events, prometheus.CounterValue, float64(n), k)
			}
			emit(failovers, prometheus.CounterValue, float64(fo))
			var p, m float64
			mediaEngines.Range(func(_, v any) bool {
				st := v.(*mediaEngine).srv.Stats()
				p += float64(st.Pins)
				m += float64(st.RoomsMoved)
				return true
			})
			emit(pins, prometheus.GaugeValue, p)
			emit(moved, prometheus.CounterValue, m)
		},
	}
}

func newGatewayCollector() prometheus.Collector {
	var (
		admissions = desc("admissions_total", "Signalling requests at the gateway, by outcome and the role admitted or the reason refused.", "outcome", "detail")
		logins     = desc("logins_total", "Host login attempts, by outcome (ok or the reason refused).", "outcome")
		sessions   = desc("host_sessions", "Host sessions open now.")
		conns      = desc("signalling_connections", "Signalling connections proxied now.")
		rooms      = desc("api_rooms", "Rooms made through the API.")
	)
	return &statCollector{
		descs: []*prometheus.Desc{admissions, logins, sessions, conns, rooms},
		read: func(emit func(*prometheus.Desc, prometheus.ValueType, float64, ...string)) {
			var sum gateway.Stats
			admitted, refused, login := map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
			gatewayStates.Range(func(_, v any) bool {
				st := v.(*gateway.State).Stats()
				for k, n := range st.Admitted {
					admitted[k] += n
				}
				for k, n := range st.Refused {
					refused[k] += n
				}
				for k, n := range st.Logins {
					login[k] += n
				}
				sum.Sessions += st.Sessions
				sum.Connections += st.Connections
				sum.Rooms += st.Rooms
				return true
			})
			for k, n := range admitted {
				emit(admissions, prometheus.CounterValue, float64(n), "admitted", k)
			}
			for k, n := range refused {
				emit(admissions, prometheus.CounterValue, float64(n), "refused", k)
			}
			for k, n := range login {
				emit(logins, prometheus.CounterValue, float64(n), k)
			}
			emit(sessions, prometheus.GaugeValue, float64(sum.Sessions))
			emit(conns, prometheus.GaugeValue, float64(sum.Connections))
			emit(rooms, prometheus.GaugeValue, float64(sum.Rooms))
		},
	}
}

func newMediaCollector() prometheus.Collector {
	var (
		rooms   = desc("rooms", "Rooms open on the media server now.")
		peers   = desc("peers", "Peers in rooms now.")
		waiting = desc("lobby_peers", "Peers waiting in lobbies now.")
		tracks  = desc("tracks", "Tracks published now.")
		packets = desc("forwarded_packets_total", "RTP packets forwarded to subscribers, one per copy.")
		bytes   = desc("forwarded_bytes_total", "Payload bytes forwarded to subscribers.")
		drain   = desc("node_draining", "1 while this process's media node drains (takes no new room), else 0.")
	)
	return &statCollector{
		descs: []*prometheus.Desc{rooms, peers, waiting, tracks, packets, bytes, drain},
		read: func(emit func(*prometheus.Desc, prometheus.ValueType, float64, ...string)) {
			var sum mediaserver.Stats
			mediaEngines.Range(func(_, v any) bool {
				st := v.(*mediaEngine).srv.Stats()
				sum.Rooms += st.Rooms
				sum.Peers += st.Peers
				sum.Waiting += st.Waiting
				sum.Tracks += st.Tracks
				sum.ForwardedPackets += st.ForwardedPackets
				sum.ForwardedBytes += st.ForwardedBytes
				sum.Draining = sum.Draining || st.Draining
				return true
			})
			emit(rooms, prometheus.GaugeValue, float64(sum.Rooms))
			emit(peers, prometheus.GaugeValue, float64(sum.Peers))
			emit(waiting, prometheus.GaugeValue, float64(sum.Waiting))
			emit(tracks, prometheus.GaugeValue, float64(sum.Tracks))
			emit(packets, prometheus.CounterValue, float64(sum.ForwardedPackets))
			emit(bytes, prometheus.CounterValue, float64(sum.ForwardedBytes))
			draining := 0.0
			if sum.Draining {
				draining = 1
			}
			emit(drain, prometheus.GaugeValue, draining)
		},
	}
}

func newTURNCollector() prometheus.Collector {
	var (
		active   = desc("turn_allocations", "TURN allocations alive now.")
		made     = desc("turn_allocations_total", "TURN allocations made.")
		refused  = desc("turn_refusals_total", "TURN requests refused, by reason.", "reason")
		dropped  = desc("turn_dropped_packets_total", "Relayed packets dropped for their destination.")
		packets  = desc("turn_relayed_packets_total", "Packets relayed, both ways.")
		relayedB = desc("turn_relayed_bytes_total", "Payload bytes relayed, both ways.")
	)
	return &statCollector{
		descs: []*prometheus.Desc{active, made, refused, dropped, packets, relayedB},
		read: func(emit func(*prometheus.Desc, prometheus.ValueType, float64, ...string)) {
			var sum turnserver.Stats
			turnServers.Range(func(_, v any) bool {
				st := v.(*turnInstance).srv.Stats()
				sum.Allocations += st.Allocations
				sum.AllocationsTotal += st.AllocationsTotal
				sum.AuthFailures += st.AuthFailures
				sum.QuotaRefusals += st.QuotaRefusals
				sum.PeerRefusals += st.PeerRefusals
				sum.DroppedPackets += st.DroppedPackets
				sum.RelayedPackets += st.RelayedPackets
				sum.RelayedBytes += st.RelayedBytes
				return true
			})
			emit(active, prometheus.GaugeValue, float64(sum.Allocations))
			emit(made, prometheus.CounterValue, float64(sum.AllocationsTotal))
			emit(refused, prometheus.CounterValue, float64(sum.AuthFailures), "credential")
			emit(refused, prometheus.CounterValue, float64(sum.QuotaRefusals), "quota")
			emit(refused, prometheus.CounterValue, float64(sum.PeerRefusals), "peer_address")
			emit(dropped, prometheus.CounterValue, float64(sum.DroppedPackets))
			emit(packets, prometheus.CounterValue, float64(sum.RelayedPackets))
			emit(relayedB, prometheus.CounterValue, float64(sum.RelayedBytes))
		},
	}
}
