// Package procenclave runs a compartment as a separate process and speaks frames to
// it (SPEC.md §7.5) over its stdin and stdout. A Process is a broker.Enclave.
//
// Trust: untrusted host code (part of the broker). It never restarts a dead
// process: a compartment's keys live only in its memory (§7.1), so a new process
// would be a new, unenrolled enclave.
package procenclave

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/splitbft/splitbft/internal/cpusched"
	"github.com/splitbft/splitbft/internal/rawio"
	"github.com/splitbft/splitbft/spec"
)

// ErrDead is wrapped by every error of a Process whose child is gone or broke the
// frame protocol. Such a Process fails every later call.
var ErrDead = errors.New("procenclave: enclave process is dead")

// FrameError is the error for a FrameError answer: the compartment refused the call
// (for Init, bad-init), the process is still alive.
type FrameError struct{ Code uint64 }

func (e *FrameError) Error() string {
	return "procenclave: enclave answered error " + spec.CodeName(e.Code)
}

// Process is one compartment process. Its calls are serialised by a mutex: one frame
// is answered before the next is sent.
type Process struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     io.Reader
	outFile *os.File // closed once the process is reaped
	dead    error    // non-nil once the process is unusable; wraps ErrDead
	reaped  bool     // cmd.Wait has been called
}

// closeGrace is how long Close lets a process exit by itself before killing it.
const closeGrace = 5 * time.Second

// Start spawns the compartment binary path with args; its stderr goes to this
// process's stderr.
func Start(path string, args ...string) (*Process, error) {
	cmd := exec.Command(path, args...)
	cmd.Stderr = os.Stderr
	return StartCmd(cmd)
}

// StartCmd spawns cmd, which must not have Stdin or Stdout set; the caller may set
// Stderr, Env and Dir.
func StartCmd(cmd *exec.Cmd) (*Process, error) {
	if cmd.Stdin != nil || cmd.Stdout != nil {
		return nil, errors.New("procenclave: StartCmd: Stdin or Stdout already set")
	}
	// Our own pipes rather than cmd's StdinPipe and StdoutPipe, to keep the parent's
	// ends as *os.File for rawio (one Step is a write and a read on each).
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = start(cmd)
	inR.Close() // the child's ends: the child has them now
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("procenclave: start %s: %w", cmd.Path, err)
	}
	// Buffered, an answer's length prefix and body usually arrive in one read.
	return &Process{cmd: cmd, stdin: rawio.File(inW), out: bufio.NewReaderSize(rawio.File(outR), 64<<10), outFile: outR}, nil
}

// start starts cmd from a thread that has the scheduling policy the process chose
// (cpusched), which the child inherits.
func start(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpusched.OnThisThread() // best effort: a refusal costs speed, not correctness
	return cmd.Start()
}

// Init sends an init frame and returns the enrollment. An error answer (bad-init) is
// returned as a *FrameError; a dead process as an error wrapping ErrDead.
func (p *Process) Init(req []byte) ([]byte, error) { return p.call(spec.FrameInit, req) }

// Step sends a step frame and returns the StepOutput bytes. An error answer (which a
// conforming compartment never gives to a well-formed frame) is returned as a
// *FrameError; a dead process as an error wrapping ErrDead; a StepInput too long for
// a frame as an error wrapping spec.ErrFrameTooLarge (nothing is sent).
func (p *Process) Step(in []byte) ([]byte, error) { return p.call(spec.FrameStep, in) }

func (p *Process) call(op uint64, body []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead != nil {
		return nil, p.dead
	}
	if err := spec.WriteFrame(p.stdin, &spec.Frame{Op: op, Body: body}); err != nil {
		if errors.Is(err, spec.ErrFrameTooLarge) {
			return nil, err // nothing was written: the stream is intact
		}
		return nil, p.kill(fmt.Errorf("write: %w", err))
	}
	f, err := spec.ReadFrame(p.out)
	if err != nil {
		return nil, p.kill(fmt.Errorf("read: %w", err))
	}
	switch f.Op {
	case spec.FrameResult:
		return f.Body, nil
	case spec.FrameError:
		if code, err := spec.DecodeUint(f.Body); err == nil {
			return nil, &FrameError{Code: code}
		}
	}
	return nil, p.kill(fmt.Errorf("answer with frame op %d", f.Op))
}

// kill marks the process dead with cause, ends it and reaps it. p.mu must be held.
func (p *Process) kill(cause error) error {
	p.cmd.Process.Kill()
	p.dead = fmt.Errorf("%w: %s: %v (%s)", ErrDead, p.cmd.Path, cause, describeExit(p.reap()))
	return p.dead
}

// reap waits for the child, once. p.mu must be held.
func (p *Process) reap() error {
	if p.reaped {
		return nil
	}
	p.reaped = true
	err := p.cmd.Wait()
	p.stdin.Close() // cmd.Wait closes only pipes it made; a second Close is harmless
	p.outFile.Close()
	return err
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// Close ends the process: it closes its stdin, so that a healthy compartment sees the
// end of the stream and exits with status 0, and reaps it, killing it if it has not
// exited after a grace period. It returns an error if the process did not exit
// cleanly by itself. Every later call fails with ErrDead. Close is idempotent.
func (p *Process) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	p.stdin.Close()
	if p.dead == nil {
		p.dead = fmt.Errorf("%w: %s: closed", ErrDead, p.cmd.Path)
	}
	timer := time.AfterFunc(closeGrace, func() { p.cmd.Process.Kill() })
	defer timer.Stop()
	return p.reap()
}

// Pid returns the operating-system process id of the compartment process.
func (p *Process) Pid() int { return p.cmd.Process.Pid }
