// Package caddyrun builds the roomgate binary and runs it with a Caddyfile,
// for integration tests and benchmarks that need real Caddy: a process of its
// own, with its own ports, storage and logs.
package caddyrun

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/roomgate once per process (with the race detector when
// the tests run with it) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir := filepath.Join(os.TempDir(), "roomgate-test-bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		// One name per checkout: a test that starts a process again (a
		// restart) must run this checkout's build, not one that another
		// checkout's tests renamed over it meanwhile.
		sum := sha256.Sum256([]byte(root))
		name := "roomgate-" + hex.EncodeToString(sum[:6])
		args := []string{"build", "-o"}
		if raceEnabled {
			name += "-race"
		}
		// Build to a private name, then rename: test packages build at the same time.
		tmp, err := os.CreateTemp(dir, name+".*")
		if err != nil {
			buildErr = err
			return
		}
		tmp.Close()
		args = append(args, tmp.Name())
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/roomgate")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp.Name())
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binPath = filepath.Join(dir, name)
		buildErr = os.Rename(tmp.Name(), binPath)
	})
	if buildErr != nil {
		t.Fatalf("building roomgate: %v", buildErr)
	}
	return binPath
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the roomgate module")
	}
	return filepath.Dir(mod), nil
}

var (
	portMu sync.Mutex
	handed = map[int]bool{}
)

// FreePort returns a port that was free a moment ago for TCP and UDP on every
// address. It is chosen below the kernel's ephemeral range (32768 and up),
// where the tests' own outgoing connections would take it, and it is never
// handed out twice in one process.
func FreePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if handed[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		handed[p] = true
		return p
	}
	t.Fatal("no free port found")
	return 0
}

// Instance is one running roomgate process.
type Instance struct {
	// Dir holds the Caddyfile and Caddy's storage (XDG_DATA_HOME).
	Dir string
	// Env is added to the process's environment.
	Env []string
	// AdminAddr is the admin endpoint (CADDY_ADMIN), unless the Caddyfile
	// sets another or turns it off.
	AdminAddr string

	t    testing.TB
	bin  string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
}

// Start writes caddyfile into a fresh directory and runs `roomgate run` on it
// until the test ends. It returns once Caddy serves the configuration.
func Start(t testing.TB, caddyfile string, env ...string) *Instance {
	t.Helper()
	in := &Instance{Dir: t.TempDir(), Env: env, t: t, bin: Binary(t),
		AdminAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t))}
	if err := os.WriteFile(filepath.Join(in.Dir, "Caddyfile"), []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	in.start()
	t.Cleanup(func() {
		in.Stop()
		// A race in the server is a failure of the test that provoked it.
		ours, upstream := serverRaces(in.Logs())
		if len(ours) > 0 {
			t.Errorf("the race detector reported %d data race(s) in roomgate", len(ours))
		}
		for _, r := range upstream {
			t.Logf("known data race inside Caddy, not roomgate's:%s", r)
		}
		if t.Failed() {
			t.Logf("roomgate logs:\n%s", in.Logs())
		}
	})
	return in
}

// Run runs the binary with args to completion in a fresh directory and
// returns its combined output.
func Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return RunEnv(t, nil, args...)
}

// RunEnv is Run with env added to the environment.
func RunEnv(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	dir := t.TempDir()
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (in *Instance) start() {
	t := in.t
	t.Helper()
	in.logs = &lockedBuffer{}
	in.done = make(chan struct{})
	cmd := exec.Command(in.bin, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	dieWithParent(cmd)
	cmd.Dir = in.Dir
	cmd.Env = append(os.Environ(), "HOME="+in.Dir, "XDG_DATA_HOME="+in.Dir, "XDG_CONFIG_HOME="+in.Dir,
		"CADDY_ADMIN="+in.AdminAddr)
	cmd.Env = append(cmd.Env, in.Env...)
	cmd.Stdout = in.logs
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.cmd = cmd
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			in.logs.WriteLine(line)
			if !signalled && strings.Contains(line, "serving initial configuration") {
				signalled = true
				close(ready)
			}
		}
		cmd.Wait()
		close(in.done)
	}()
	select {
	case <-ready:
	case <-in.done:
		t.Fatalf("roomgate exited before serving:\n%s", in.Logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("roomgate did not start within a minute:\n%s", in.Logs())
	}
}

// Stop ends the process and waits for it.
func (in *Instance) Stop() {
	if in.cmd == nil || in.cmd.Process == nil {
		return
	}
	select {
	case <-in.done:
		return
	default:
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(15 * time.Second):
		in.cmd.Process.Kill()
		<-in.done
	}
}

// Signal sends sig to the process: SIGSTOP and SIGCONT freeze and thaw it.
func (in *Instance) Signal(sig os.Signal) {
	in.t.Helper()
	if err := in.cmd.Process.Signal(sig); err != nil {
		in.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Done is closed once the process has exited, by itself or stopped.
func (in *Instance) Done() <-chan struct{} { return in.done }

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (in *Instance) Kill() {
	in.cmd.Process.Kill()
	<-in.done
}

// Restart stops the process and starts it again on the same directory, so
// that what it keeps in storage is still there.
func (in *Instance) Restart() {
	in.t.Helper()
	in.Stop()
	in.start()
}

// Reload loads caddyfile through the admin endpoint, as `caddy reload` does.
func (in *Instance) Reload(caddyfile string) error {
	resp, err := http.Post("http://"+in.AdminAddr+"/load", "text/caddyfile", strings.NewReader(caddyfile))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("reload: %s: %s", resp.Status, b)
	}
	return nil
}

// Caddyfile returns the Caddyfile the instance was started with.
func (in *Instance) Caddyfile() string {
	b, _ := os.ReadFile(filepath.Join(in.Dir, "Caddyfile"))
	return string(b)
}

// Pid is the running process's id.
func (in *Instance) Pid() int { return in.cmd.Process.Pid }

// Logs returns everything the process has written so far.
func (in *Instance) Logs() string { return in.logs.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) WriteLine(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
	l.b.WriteByte('\n')
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
