// Command roomgate-load drives a roomgate deployment through its gateway
// with simulated people, and reports what they got.
//
//	roomgate-load -site http://localhost:8080 -scenario fanout -peers 20
//	roomgate-load -scenario meeting -peers 6 -secret "$ROOMGATE_SECRET"
//	roomgate-load -scenario churn -peers 10 -rate 2 -stay 3s -server-pid 1234
//	roomgate-load -site http://gw1:8080,http://gw2:8080 -scenario meeting -rooms 20 -peers 5 -duration 30s
//
// With several gateways, people go through them in turn, and whoever
// loses their room (a media node killed mid-run) comes back through the
// next, as the browser does; the report says how long that took.
//
// It exits 1 when someone could not join, a subscriber received nothing, or
// someone who lost their room did not come back.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/roomgate/roomgate/load"
)

func main() {
	var (
		cfg    load.Config
		asJSON bool
		sites  siteList
	)
	flag.Var(&sites, "site", "the gateway's address; several, comma-separated or repeated, for a cluster's gateways (default http://localhost:8080)")
	flag.StringVar(&cfg.SignalPath, "signal-path", "/ws", "the signalling path")
	flag.StringVar(&cfg.Scenario, "scenario", load.Fanout, "fanout (1 publisher, -peers subscribers), meeting (-peers participants), churn (joins at -rate)")
	flag.StringVar(&cfg.Room, "room", "load", "the room; with -rooms, the rooms' names start with it (load-1, load-2…)")
	flag.IntVar(&cfg.Rooms, "rooms", 1, "run the scenario in this many rooms at once, each with -peers")
	flag.DurationVar(&cfg.RoomEvery, "room-every", 0, "start the rooms this far apart (default all at once)")
	flag.DurationVar(&cfg.FailoverTimeout, "failover-timeout", 0, "how long someone who lost their room may take to be back with media (default 30s)")
	flag.IntVar(&cfg.Peers, "peers", 10, "subscribers (fanout), participants (meeting), at most at once (churn)")
	flag.DurationVar(&cfg.Duration, "duration", 0, "how long to measure, after everyone joined (default 10s)")
	flag.IntVar(&cfg.VideoPPS, "video-pps", 100, "video packets a second per publisher")
	flag.IntVar(&cfg.AudioPPS, "audio-pps", 50, "audio packets a second per publisher")
	flag.IntVar(&cfg.VideoBytes, "video-bytes", 1000, "video payload bytes")
	flag.IntVar(&cfg.AudioBytes, "audio-bytes", 160, "audio payload bytes")
	flag.BoolVar(&cfg.Simulcast, "simulcast", false, "publish video in three layers (the top at -video-pps, each below at a third)")
	flag.Float64Var(&cfg.Rate, "rate", 1, "churn: joins a second")
	flag.DurationVar(&cfg.Stay, "stay", 0, "churn: how long each stays (default 2s)")
	flag.StringVar(&cfg.Secret, "secret", os.Getenv("ROOMGATE_SECRET"), "mint room tokens from this master secret (default $ROOMGATE_SECRET)")
	flag.StringVar(&cfg.APIKey, "api-key", os.Getenv("ROOMGATE_API_KEY"), "else mint them through the REST API (default $ROOMGATE_API_KEY)")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "measure this server process's CPU time (Linux)")
	flag.DurationVar(&cfg.JoinTimeout, "join-timeout", 0, "how long one join may take, to the first packet (default 20s)")
	flag.BoolVar(&asJSON, "json", false, "print the report as JSON")
	flag.Parse()
	cfg.Site = "http://localhost:8080"
	if len(sites) > 0 {
		cfg.Site, cfg.Sites = sites[0], sites
	}
	cfg.OnMeasure = func() {
		// On stderr, for whoever times something (a node's kill) to the window.
		fmt.Fprintln(os.Stderr, "roomgate-load: everyone is in; the measurement window opens")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "roomgate-load:", err)
		if rep == nil {
			os.Exit(2)
		}
	}
	if asJSON {
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		e.Encode(rep)
	} else {
		rep.Print(os.Stdout)
	}
	if err != nil || !rep.OK() {
		os.Exit(1)
	}
}

// siteList is -site: addresses separated by commas, the flag repeated, or both.
type siteList []string

func (s *siteList) String() string { return strings.Join(*s, ",") }

func (s *siteList) Set(v string) error {
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*s = append(*s, a)
		}
	}
	return nil
}
