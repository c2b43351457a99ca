//go:build !linux

package operator

import "os/exec"

// setDeathSignal does nothing here: a compartment sees the end of its stdin and exits
// when its replica dies.
func setDeathSignal(*exec.Cmd) {}
