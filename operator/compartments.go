package operator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/splitbft/splitbft/broker/procenclave"
	"github.com/splitbft/splitbft/spec"
)

// modulePath is the module whose compartment binaries BuildBinaries builds.
const modulePath = "github.com/splitbft/splitbft"

// BinaryPaths returns the path of the binary of each build in binDir (binDir/<build>).
func BinaryPaths(binDir string, builds [3]string) [3]string {
	var out [3]string
	for r, b := range builds {
		out[r] = filepath.Join(binDir, b)
	}
	return out
}

// EnsureBinaries makes sure binDir holds an executable for each of the three builds
// (prep, conf, exec). When build is true a missing one is built with `go build` from
// the module source tree containing the working directory; otherwise a missing one is
// an error. Each binary is built under a temporary name and renamed into place, so
// replicas sharing binDir may build concurrently.
func EnsureBinaries(ctx context.Context, binDir string, builds [3]string, build bool, log *slog.Logger) ([3]string, error) {
	paths := BinaryPaths(binDir, builds)
	for r, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			continue
		}
		if !build {
			return paths, fmt.Errorf("operator: no compartment binary %s in %s (build it with go build -o %s %s)", builds[r], binDir, p, KnownBuilds[r][builds[r]])
		}
		log.Info("building compartment binary", "build", builds[r], "into", p)
		if err := goBuild(ctx, spec.Role(r), builds[r], p); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// goBuild builds the binary of build for role r at out.
func goBuild(ctx context.Context, r spec.Role, build, out string) error {
	pkg, ok := KnownBuilds[r][build]
	if !ok {
		return fmt.Errorf("operator: unknown %s build %q", spec.RoleName(r), build)
	}
	return goBuildPackage(ctx, pkg, out)
}

// moduleRoot returns the directory of the splitbft module containing the working
// directory, or an error telling the operator to pass --bin-dir.
func moduleRoot(ctx context.Context) (string, error) {
	msg, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(msg))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("operator: cannot build compartment binaries: the working directory is not in the %s source tree (run from there, or pass --bin-dir with prebuilt binaries)", modulePath)
	}
	head, err := os.ReadFile(gomod)
	if err != nil || !bytes.HasPrefix(head, []byte("module "+modulePath+"\n")) {
		return "", fmt.Errorf("operator: cannot build compartment binaries: %s is not the %s module (pass --bin-dir)", gomod, modulePath)
	}
	return filepath.Dir(gomod), nil
}

// StartCompartments starts the three compartment processes from paths (prep, conf,
// exec), each as runner... path (runner is a command prefix such as ["ego", "run"],
// or empty). Their stderr goes to stderr. On Linux each child is killed if this
// process dies. On error the processes already started are closed.
func StartCompartments(paths [3]string, runner []string, stderr io.Writer) ([3]*procenclave.Process, error) {
	var procs [3]*procenclave.Process
	for r, p := range paths {
		argv := append(append([]string(nil), runner...), p)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stderr = stderr
		setDeathSignal(cmd)
		proc, err := procenclave.StartCmd(cmd)
		if err != nil {
			CloseCompartments(procs)
			return procs, fmt.Errorf("operator: start %s: %w", spec.RoleName(spec.Role(r)), err)
		}
		procs[r] = proc
	}
	return procs, nil
}

// CloseCompartments ends every started compartment process.
func CloseCompartments(procs [3]*procenclave.Process) {
	for _, p := range procs {
		if p != nil {
			p.Close()
		}
	}
}
