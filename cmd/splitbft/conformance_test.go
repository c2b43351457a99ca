package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// buildCompartments builds prep-a and exec into a temporary directory, or skips the
// test if the go tool is unavailable.
func buildCompartments(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available: cannot build the compartment binaries")
	}
	dir := t.TempDir()
	cmd := exec.Command(goTool, "build", "-o", dir, "./prep-a/cmd/prep-a", "./exec/cmd/exec")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

var summary = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed\n\z`)

// runConformance runs the subcommand and returns its exit status, the passed and
// failed counts of its summary line, and its output.
func runConformance(t *testing.T, args ...string) (int, int, int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"conformance"}, args...), &out, &errOut)
	m := summary.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary line at the end of the output:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	passed, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[2])
	return code, passed, failed, out.String()
}

// TestConformanceCommand runs the prep and exec vectors against the prep-a and exec
// binaries: at least one vector each, all passing.
func TestConformanceCommand(t *testing.T) {
	dir := buildCompartments(t)
	for _, c := range []struct{ role, binary string }{{"prep", "prep-a"}, {"exec", "exec"}} {
		code, passed, failed, out := runConformance(t, "--role", c.role, "--exec", filepath.Join(dir, c.binary))
		if code != 0 || passed < 1 || failed != 0 {
			t.Errorf("%s against %s: exit %d, %d passed, %d failed\n%s", c.role, c.binary, code, passed, failed, out)
		}
	}
}

// TestConformanceCommandFails: the exec binary run against prep vectors fails them,
// one line per vector, with exit status 1.
func TestConformanceCommandFails(t *testing.T) {
	dir := buildCompartments(t)
	code, passed, failed, out := runConformance(t, "--role", "prep", "--exec", filepath.Join(dir, "exec"), "--run", "^prep/P[0-9]")
	if code != 1 || passed != 0 || failed < 1 || strings.Count(out, "\nFAIL ")+1 < failed {
		t.Errorf("exit %d, %d passed, %d failed\n%s", code, passed, failed, out)
	}
	code, passed, failed, _ = runConformance(t, "--role", "exec", "--exec", filepath.Join(dir, "exec"), "--run", "no-such-vector")
	if code != 1 || passed != 0 || failed != 0 {
		t.Errorf("no vector selected: exit %d, %d passed, %d failed; want exit 1", code, passed, failed)
	}
}

func TestConformanceCommandArgs(t *testing.T) {
	for _, args := range [][]string{{}, {"--role", "prep"}, {"--role", "nope", "--exec", "/bin/sh"},
		{"--role", "prep", "--exec", t.TempDir()}, {"--role", "prep", "--exec", "/bin/sh", "--run", "("},
		{"--role", "prep", "--exec", "/bin/sh", "extra"}} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"conformance"}, args...), &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}
