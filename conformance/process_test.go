package conformance

import (
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

func TestStreamSeed(t *testing.T) {
	if seed, ok := StreamSeed(Stream("enclave", 9)); !ok || seed != 9 {
		t.Errorf("fresh enclave stream: %d, %v", seed, ok)
	}
	used := Stream("enclave", 9)
	used.Read(make([]byte, 1))
	for name, r := range map[string]io.Reader{"read from": used, "other label": Stream("fixture-keys", 9),
		"not a stream": spec.TestStream("enclave", 9), "nil": nil} {
		if _, ok := StreamSeed(r); ok {
			t.Errorf("%s: StreamSeed reported a seed", name)
		}
	}
	a, b := make([]byte, 100), make([]byte, 100)
	io.ReadFull(Stream("enclave", 9), a)
	io.ReadFull(spec.TestStream("enclave", 9), b)
	if string(a) != string(b) {
		t.Error("Stream differs from spec.TestStream")
	}
}

// TestProcessFactory runs the whole Preparation and Execution suites, Init checks
// included, against the prep-a and exec binaries in process mode.
func TestProcessFactory(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available: cannot build the compartment binaries")
	}
	dir := t.TempDir()
	cmd := exec.Command(goTool, "build", "-o", dir, "./prep-a/cmd/prep-a", "./exec/cmd/exec")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("prep-a", func(t *testing.T) { RunPreparation(t, ProcessFactory(filepath.Join(dir, "prep-a"))) })
	t.Run("exec", func(t *testing.T) { RunExecution(t, ProcessFactory(filepath.Join(dir, "exec"))) })
}

// TestProcessFactoryNeedsStream: any randomness other than an unread enclave Stream
// makes Init fail without starting anything; a missing binary is a recorded error.
func TestProcessFactoryNeedsStream(t *testing.T) {
	pool := NewProcessPool(filepath.Join(t.TempDir(), "missing"))
	defer pool.Close()
	req := spec.Encode(&spec.InitRequest{Role: spec.RolePrep})
	if _, err := pool.Factory(spec.TestStream("enclave", 1)).Init(req); err == nil || !strings.Contains(err.Error(), "Stream") {
		t.Errorf("non-suite randomness: %v", err)
	}
	if len(pool.TakeErrors()) != 0 {
		t.Error("a refused randomness source was recorded as a host error")
	}
	if _, err := pool.Factory(Stream("enclave", 1)).Init(req); err == nil || len(pool.TakeErrors()) != 1 {
		t.Errorf("missing binary: Init error %v", err)
	}
	if out := pool.Factory(Stream("enclave", 1)).Step(spec.Encode(&spec.StepInput{})); out != nil {
		t.Errorf("missing binary: Step returned %x", out)
	}
}
