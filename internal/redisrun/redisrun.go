// Package redisrun starts Debian's redis-server for a test, on a free
// loopback port, and stops it when the test ends: the cluster tests run on
// the real server, not a stand-in.
package redisrun

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomgate/roomgate/internal/caddyrun"
)

// Server is one redis-server process.
type Server struct {
	// Addr is host:port on loopback.
	Addr string
	dir  string
	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}
	// extra are more redis-server arguments (a replica's --replicaof);
	// sentinel, when set, is the sentinel.conf of a redis-sentinel instead.
	extra    []string
	sentinel string
}

// Start runs redis-server on a free port of 127.0.0.1 until the test ends.
// It keeps nothing on disk unless the test restarts it with Restart.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed (.ci/run installs Debian's redis-server)")
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", caddyrun.FreePort(t)), dir: t.TempDir(), t: t}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr }

func (s *Server) start() {
	t := s.t
	t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"}
	bin, readyLine := "redis-server", "Ready to accept connections"
	args = append(args, s.extra...)
	if s.sentinel != "" {
		// A sentinel rewrites its config file: it lives in s.dir.
		bin, readyLine, args = "redis-sentinel", "+monitor master", []string{s.sentinel}
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), readyLine) {
				signalled = true
				close(ready)
			}
		}
		cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("%s exited:\n%s", bin, log.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start within 20 s", bin)
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port. With empty, it comes
// back with nothing; otherwise with what its append-only file kept.
func (s *Server) Restart(empty bool) {
	s.t.Helper()
	s.Kill()
	if empty {
		if err := os.RemoveAll(filepath.Join(s.dir, "appendonlydir")); err != nil {
			s.t.Fatal(err)
		}
	}
	s.start()
}

// Snapshot copies what the server's append-only file holds now, for
// RestartFrom: the backup an operator restores.
func (s *Server) Snapshot() string {
	s.t.Helper()
	to := filepath.Join(s.t.TempDir(), "appendonlydir")
	if err := os.CopyFS(to, os.DirFS(filepath.Join(s.dir, "appendonlydir"))); err != nil {
		s.t.Fatal(err)
	}
	return to
}

// RestartFrom ends the server and starts it again from an older snapshot,
// losing what was written since.
func (s *Server) RestartFrom(snapshot string) {
	s.t.Helper()
	s.Kill()
	aof := filepath.Join(s.dir, "appendonlydir")
	if err := os.RemoveAll(aof); err != nil {
		s.t.Fatal(err)
	}
	if err := os.CopyFS(aof, os.DirFS(snapshot)); err != nil {
		s.t.Fatal(err)
	}
	s.start()
}

// RequirePassword makes the server ask clients for password (AUTH).
func (s *Server) RequirePassword(t testing.TB, password string) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// An inline command: CONFIG SET requirepass <password>.
	if _, err := fmt.Fprintf(c, "CONFIG SET requirepass %s\r\n", password); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "+OK") {
		t.Fatalf("CONFIG SET requirepass: %q %v", line, err)
	}
}
