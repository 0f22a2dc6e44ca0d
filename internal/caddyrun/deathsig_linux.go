package caddyrun

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server die with the test process, even when the
// test binary is killed (a -timeout panic runs no cleanup) and would
// otherwise leave it running, holding ports and CPU.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
