package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/roomgate/roomgate/mediaserver"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(DrainAdmin{})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "drain",
		Usage: "[--address <interface>] [--config <path> [--adapter <name>]] [--wait]",
		Short: "Drains a media node: no new rooms, its rooms end or move, then it stops",
		Long: `
Tells the media node of a running roomgate to drain, through its admin
endpoint (POST /roomgate/drain): it takes no new room at once; its rooms go
on, and people still join them, until they end or the node's drain_timeout
passes; then the rooms left move to other nodes (their people connect again
by themselves) and the process stops, as with 'caddy stop'.

It prints the node's answer: its id, since when it drains, when what is
left moves, and its rooms and peers now. With --wait it returns only once
the process has stopped. The admin address is found as 'caddy stop' finds
it: --address, else the --config file's admin option, else the default.`,
		Flags: func() *flag.FlagSet {
			fs := flag.NewFlagSet("drain", flag.ExitOnError)
			fs.String("address", "", "the admin endpoint to reach, if not the default")
			fs.String("config", "", "a config file to read the admin address from, when --address is not given")
			fs.String("adapter", "", "the config file's adapter (with --config)")
			fs.Bool("wait", false, "return once the process has stopped")
			return fs
		}(),
		Func: cmdDrain,
	})
}

// drainPath is the admin endpoint: GET says how the node's drain stands,
// POST starts it.
const drainPath = "/roomgate/drain"

// DrainAdmin is the admin endpoint that drains this process's media node:
// POST /roomgate/drain starts the drain and answers 202 with its state
// (again: 200, the drain under way); GET answers the state. Once the node
// is drained, the process stops, as on SIGTERM.
type DrainAdmin struct{}

// CaddyModule returns the Caddy module information.
func (DrainAdmin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.roomgate_drain",
		New: func() caddy.Module { return new(DrainAdmin) },
	}
}

// Routes implements caddy.AdminRouter.
func (DrainAdmin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: drainPath, Handler: caddy.AdminHandlerFunc(serveDrain)}}
}

func serveDrain(w http.ResponseWriter, r *http.Request) error {
	srv := runningNode()
	if srv == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound,
			Err: errors.New("this process runs no media node of a cluster (mediaserver with roomgate_cluster)")}
	}
	var st mediaserver.DrainStatus
	status := http.StatusOK
	switch r.Method {
	case http.MethodGet:
		st = srv.DrainStatus()
	case http.MethodPost:
		var started bool
		var err error
		if st, started, err = srv.StartDrain(); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusConflict, Err: err}
		}
		if started {
			status = http.StatusAccepted
			go stopWhenDrained(srv)
		}
	default:
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET or POST")}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(st)
}

// runningNode is this process's media node, if it runs one.
func runningNode() *mediaserver.Server {
	var node *mediaserver.Server
	mediaEngines.Range(func(_, v any) bool {
		if srv := v.(*mediaEngine).srv; srv.DrainStatus().Node != "" {
			node = srv
			return false
		}
		return true
	})
	return node
}

// stopWhenDrained waits for the drain, then stops the process as SIGTERM
// does: Caddy stops its apps (the node moves what is left), then exits.
// Caddy offers a module no other way to end its process.
func stopWhenDrained(srv *mediaserver.Server) {
	srv.Drain(context.Background())
	caddy.Log().Info("media node drained; stopping the process", zap.String("node", srv.DrainStatus().Node))
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Signal(syscall.SIGTERM)
	}
	if err != nil {
		caddy.Log().Error("stopping the process after the drain; stop it yourself", zap.Error(err))
	}
}

func cmdDrain(fl caddycmd.Flags) (int, error) {
	addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("finding the admin endpoint: %v", err)
	}
	resp, err := caddycmd.AdminAPIRequest(addr, http.MethodPost, drainPath, nil, nil)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(bytes.TrimSpace(body)))
	if !fl.Bool("wait") {
		return caddy.ExitCodeSuccess, nil
	}
	// The admin endpoint answers until the process ends.
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		resp, err := caddycmd.AdminAPIRequest(addr, http.MethodGet, drainPath, nil, nil)
		if err != nil {
			fmt.Println(`{"stopped":true}`)
			return caddy.ExitCodeSuccess, nil
		}
		resp.Body.Close()
	}
	return caddy.ExitCodeSuccess, nil
}

// Interface guards
var _ caddy.AdminRouter = (*DrainAdmin)(nil)
