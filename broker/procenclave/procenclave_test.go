package procenclave_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/procenclave"
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

var _ broker.Enclave = (*procenclave.Process)(nil)

// binaries are the compartment binaries, from the build registry.
var binaries = builds.All()

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// bin builds every compartment binary once, into a temporary directory, and returns
// the path of the named one. It skips the test if the go tool is unavailable.
func bin(t *testing.T, name string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not available: cannot build the compartment binaries")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "procenclave-bin-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir}
		for _, b := range binaries {
			args = append(args, "./"+b.Cmd)
		}
		cmd := exec.Command(goTool, args...)
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the compartment binaries: %v", buildErr)
	}
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// start starts a binary with its stderr captured.
func start(t *testing.T, path string, args ...string) (*procenclave.Process, *syncBuffer) {
	t.Helper()
	stderr := &syncBuffer{}
	cmd := exec.Command(path, args...)
	cmd.Stderr = stderr
	p, err := procenclave.StartCmd(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, stderr
}

// TestMatchesInProcess: each binary started with -test-seed gives byte-identical
// answers to the same implementation in-process with the same stream: its enrollment,
// and the outputs of a configure, an empty step and a malformed step.
func TestMatchesInProcess(t *testing.T) {
	const seed, replica = 11, 1
	for _, b := range binaries {
		t.Run(b.Name, func(t *testing.T) {
			p, stderr := start(t, bin(t, b.Name), "-test-seed", "11")
			local := b.New(spec.TestStream("enclave", seed))
			req := spec.Encode(&spec.InitRequest{Role: b.Role, Replica: replica})
			got, err := p.Init(req)
			want, _ := local.Init(req)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Init: %x, %v; in-process %x", got, err, want)
			}
			var enr spec.Enrollment
			if err := spec.Decode(got, &enr, spec.MaxMessageBytes); err != nil {
				t.Fatal(err)
			}
			fx, err := conformance.NewFixture(seed, conformance.DefaultParams(), b.Role, replica, enr.Body)
			if err != nil {
				t.Fatal(err)
			}
			for i, in := range [][]byte{spec.Encode(&spec.StepInput{Inputs: []spec.Input{fx.Configure()}}),
				spec.Encode(&spec.StepInput{}), {0x82, 0x00}} {
				got, err := p.Step(in)
				if want := local.Step(in); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("step %d: %x, %v; in-process %x", i, got, err, want)
				}
			}
			if !strings.Contains(stderr.String(), "PREDICTABLE") {
				t.Errorf("no warning on stderr with -test-seed: %q", stderr.String())
			}
		})
	}
}

// TestCleanRunIsQuiet: without -test-seed a binary writes nothing to stderr and
// exits with status 0 when Close ends its stdin.
func TestCleanRunIsQuiet(t *testing.T) {
	p, stderr := start(t, bin(t, "conf-b"))
	if _, err := p.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleConf})); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if stderr.String() != "" {
		t.Errorf("stderr: %q", stderr.String())
	}
	if _, err := p.Step(spec.Encode(&spec.StepInput{})); !errors.Is(err, procenclave.ErrDead) {
		t.Errorf("Step after Close: %v, want ErrDead", err)
	}
}

// TestInitErrorKeepsProcess: a second Init is answered bad-init and the process
// stays usable.
func TestInitErrorKeepsProcess(t *testing.T) {
	p, _ := start(t, bin(t, "exec"), "-test-seed", "3")
	req := spec.Encode(&spec.InitRequest{Role: spec.RoleExec})
	if _, err := p.Init(req); err != nil {
		t.Fatal(err)
	}
	var fe *procenclave.FrameError
	if _, err := p.Init(req); !errors.As(err, &fe) || fe.Code != spec.CodeBadInit {
		t.Fatalf("second Init: %v, want a bad-init FrameError", err)
	}
	if _, err := p.Step(spec.Encode(&spec.StepInput{})); err != nil {
		t.Errorf("Step after a refused Init: %v", err)
	}
}

// TestDeadProcess: a process that dies is reported dead, on every later call too,
// and never restarted.
func TestDeadProcess(t *testing.T) {
	p, _ := start(t, bin(t, "prep-a"), "-test-seed", "5")
	if _, err := p.Init(spec.Encode(&spec.InitRequest{Role: spec.RolePrep})); err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err1 := p.Step(spec.Encode(&spec.StepInput{}))
	_, err2 := p.Step(spec.Encode(&spec.StepInput{}))
	if !errors.Is(err1, procenclave.ErrDead) || !errors.Is(err2, procenclave.ErrDead) || p.Pid() != pid {
		t.Errorf("after SIGKILL: %v; then %v; pid %d -> %d", err1, err2, pid, p.Pid())
	}
	bad, _ := start(t, bin(t, "prep-a"), "-no-such-flag")
	if _, err := bad.Init(spec.Encode(&spec.InitRequest{Role: spec.RolePrep})); !errors.Is(err, procenclave.ErrDead) {
		t.Errorf("a process that exits at once: %v, want ErrDead", err)
	}
	if _, err := procenclave.Start(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Start of a missing binary succeeded")
	}
}

// syncBuffer is a bytes.Buffer safe for the exec package's copying goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
