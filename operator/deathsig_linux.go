package operator

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the child when this process dies, so that a
// replica killed without a chance to clean up leaves no compartment running.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
