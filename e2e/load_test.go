package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomgate/roomgate/load"
)

func loadConfig(s *mediaSite, scenario string, peers int) load.Config {
	return load.Config{
		Site: fmt.Sprintf("http://localhost:%d", s.port), Scenario: scenario, Peers: peers,
		Duration: 2 * time.Second, VideoPPS: 100, AudioPPS: 50, Secret: testSecret,
		ServerPID: s.Pid(), JoinTimeout: 10 * time.Second,
	}
}

func TestLoadToolReportsWhatHappened(t *testing.T) {
	t.Parallel()
	// user_auth: nobody gets in without the tokens the tool mints.
	s := newMediaSite(t, "user_auth")
	ctx := context.Background()

	t.Run("fanout", func(t *testing.T) {
		cfg := loadConfig(s, load.Fanout, 3)
		cfg.Room = "fanout"
		rep, err := load.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// 3 subscribers, 150 packets a second each, for the window.
		want := 3 * 150 * rep.Window.Seconds()
		if !rep.OK() || rep.Joins != 3 || rep.Silent != 0 || float64(rep.Packets) < 0.8*want || float64(rep.Packets) > 1.1*want ||
			rep.LossPercent > 2 || rep.JoinP50 <= 0 || rep.JoinP99 < rep.JoinP50 || rep.ServerCPU <= 0 || rep.Bytes < rep.Packets*160 {
			t.Fatalf("fanout report (want about %.0f packets): %+v", want, rep)
		}
	})

	t.Run("meeting", func(t *testing.T) {
		cfg := loadConfig(s, load.Meeting, 3)
		cfg.Room, cfg.Duration = "meeting", 3*time.Second
		rep, err := load.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Each of 3 receives the other 2; the floor changes hands at least
		// once in 3 s of two-second turns, and everyone hears of it.
		want := 3 * 2 * 150 * rep.Window.Seconds()
		if !rep.OK() || float64(rep.Packets) < 0.8*want || float64(rep.Packets) > 1.1*want || rep.SpeakerMessages < 3 {
			t.Fatalf("meeting report (want about %.0f packets): %+v", want, rep)
		}
	})

	t.Run("simulcast", func(t *testing.T) {
		cfg := loadConfig(s, load.Fanout, 3)
		cfg.Room, cfg.Simulcast, cfg.VideoPPS = "simulcast", true, 90
		rep, err := load.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Layers of 10, 30 and 90 packets a second; each subscriber gets
		// one, the top one, and the audio.
		want := 3 * (90 + 50) * rep.Window.Seconds()
		if !rep.OK() || float64(rep.Packets) < 0.8*want || float64(rep.Packets) > 1.1*want || rep.LossPercent > 2 {
			t.Fatalf("simulcast fanout report (want about %.0f packets): %+v", want, rep)
		}
	})

	t.Run("churn", func(t *testing.T) {
		cfg := loadConfig(s, load.Churn, 4)
		cfg.Room, cfg.Rate, cfg.Stay = "churn", 2, time.Second
		rep, err := load.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Joins < 3 || rep.Packets == 0 {
			t.Fatalf("churn report: %+v", rep)
		}
	})

	t.Run("silence is reported", func(t *testing.T) {
		// The publisher's tracks carry nothing: every subscriber is silent.
		cfg := loadConfig(s, load.Fanout, 3)
		cfg.Room, cfg.VideoPPS, cfg.AudioPPS, cfg.JoinTimeout = "quiet", 0, 0, 3*time.Second
		rep, err := load.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || rep.Silent != 3 || rep.Packets != 0 || rep.JoinFailures != 3 || rep.MbitPerSecond != 0 {
			t.Fatalf("a silent fanout reported as %+v", rep)
		}
	})

	t.Run("refused", func(t *testing.T) {
		cfg := loadConfig(s, load.Fanout, 2)
		cfg.Room, cfg.Secret = "refused", ""
		if rep, err := load.Run(ctx, cfg); err == nil {
			t.Fatalf("without tokens under user_auth: %+v", rep)
		}
	})

	t.Run("command", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "roomgate-load")
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/roomgate-load").CombinedOutput(); err != nil {
			t.Fatalf("building the command: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "-site", fmt.Sprintf("http://localhost:%d", s.port), "-scenario", "fanout",
			"-room", "cli", "-peers", "2", "-duration", "1s", "-secret", testSecret, "-json").Output()
		var rep load.Report
		if err != nil || json.Unmarshal(out, &rep) != nil || !rep.OK() || rep.Joins != 2 {
			t.Fatalf("roomgate-load: %v\n%s", err, out)
		}
		// Without a secret nobody is let in, and the command says so by its exit status.
		err = exec.Command(bin, "-site", fmt.Sprintf("http://localhost:%d", s.port), "-room", "cli2", "-peers", "1",
			"-duration", "1s", "-secret", "").Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
			t.Fatalf("refused run exited with %v", err)
		}
	})
}
