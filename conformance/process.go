package conformance

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"

	"github.com/splitbft/splitbft/broker/procenclave"
	"github.com/splitbft/splitbft/spec"
)

// This file is the black-box mode of the suite: the compartment under test is a
// binary speaking frames (SPEC.md §7.5), started with -test-seed so that it draws the
// same randomness as the suite's Stream (Appendix A).

// maxLiveProcesses bounds the processes a ProcessPool keeps alive. The suite uses at
// most three compartments at once (its Init checks); a vector uses one.
const maxLiveProcesses = 8

// ProcessFactory returns a Factory that runs each compartment as a process of the
// binary path, started with args followed by "-test-seed <seed>", where seed is that
// of the Stream("enclave", seed) the suite passes (see StreamSeed; any other
// randomness source makes Init fail). The process starts at the first call. At most
// eight processes are alive at a time: making a ninth compartment ends the oldest,
// whose later calls fail. Host-level failures (a dead process) make Init fail and
// Step return no bytes, which the suite reports as a malformed output.
func ProcessFactory(path string, args ...string) Factory {
	return NewProcessPool(path, args...).Factory
}

// ProcessPool is ProcessFactory with control over the processes' lifetime and a
// record of host-level failures.
type ProcessPool struct {
	path string
	args []string

	mu   sync.Mutex
	live []*processCompartment // oldest first, at most maxLiveProcesses
	errs []error               // host-level failures since the last TakeErrors
}

// NewProcessPool returns a pool starting the binary path with args.
func NewProcessPool(path string, args ...string) *ProcessPool {
	return &ProcessPool{path: path, args: args}
}

// Factory makes a compartment backed by a new process (see ProcessFactory).
func (p *ProcessPool) Factory(rand io.Reader) spec.Compartment {
	seed, ok := StreamSeed(rand)
	return &processCompartment{pool: p, seed: seed, seeded: ok}
}

// Close ends every live process of the pool.
func (p *ProcessPool) Close() {
	p.mu.Lock()
	live := p.live
	p.live = nil
	p.mu.Unlock()
	for _, c := range live {
		c.close()
	}
}

// TakeErrors returns the host-level failures recorded since the last call: processes
// that could not start, died, or broke the frame protocol, with their stderr's tail.
func (p *ProcessPool) TakeErrors() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	errs := p.errs
	p.errs = nil
	return errs
}

func (p *ProcessPool) record(err error) error {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
	return err
}

// admit registers c as live and returns the compartment evicted to make room, if any.
func (p *ProcessPool) admit(c *processCompartment) *processCompartment {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = append(p.live, c)
	if len(p.live) <= maxLiveProcesses {
		return nil
	}
	old := p.live[0]
	p.live = p.live[1:]
	return old
}

// processCompartment is a spec.Compartment whose calls go to a process.
type processCompartment struct {
	pool   *ProcessPool
	seed   uint64
	seeded bool // the factory was given an unread Stream("enclave", seed)

	mu     sync.Mutex
	proc   *procenclave.Process // nil until the first call
	stderr *tail
}

// process starts the process at the first call.
func (c *processCompartment) process() (*procenclave.Process, error) {
	c.mu.Lock()
	proc, started, err := c.startLocked()
	c.mu.Unlock()
	if started {
		if old := c.pool.admit(c); old != nil {
			old.close()
		}
	}
	return proc, err
}

// startLocked starts the process unless it runs already; c.mu must be held.
func (c *processCompartment) startLocked() (proc *procenclave.Process, started bool, err error) {
	if c.proc != nil {
		return c.proc, false, nil
	}
	if !c.seeded {
		return nil, false, errors.New("conformance: process mode needs the randomness to be an unread Stream(\"enclave\", seed)")
	}
	c.stderr = &tail{max: 4 << 10}
	cmd := exec.Command(c.pool.path, append(append([]string{}, c.pool.args...), "-test-seed", strconv.FormatUint(c.seed, 10))...)
	cmd.Stderr = c.stderr
	if c.proc, err = procenclave.StartCmd(cmd); err != nil {
		return nil, false, c.pool.record(err)
	}
	return c.proc, true, nil
}

func (c *processCompartment) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		c.proc.Close()
	}
}

// Init implements spec.Compartment.
func (c *processCompartment) Init(req []byte) ([]byte, error) {
	proc, err := c.process()
	if err != nil {
		return nil, err
	}
	out, err := proc.Init(req)
	if errors.Is(err, procenclave.ErrDead) {
		return nil, c.pool.record(fmt.Errorf("%w; stderr: %q", err, c.stderr.String()))
	}
	return out, err
}

// Step implements spec.Compartment; it returns nil on a host-level failure.
func (c *processCompartment) Step(in []byte) []byte {
	proc, err := c.process()
	if err != nil {
		return nil
	}
	out, err := proc.Step(in)
	if err != nil {
		c.pool.record(fmt.Errorf("step: %w; stderr: %q", err, c.stderr.String()))
		return nil
	}
	return out
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte{}, t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
