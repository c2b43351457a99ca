package operator

import (
	"log/slog"
	"sync"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// checkpointRing is how many of its exec's own CHECKPOINTs a replica remembers for
// /status, so that replicas can be compared at one sequence number.
const checkpointRing = 16

// Checkpoint is a CHECKPOINT a replica's own exec emitted: its state digest after
// executing Seq. (It is public: exec sends it to every replica.)
type Checkpoint struct {
	Seq   uint64
	State spec.Digest
}

// Watched wraps a compartment's broker.Enclave: it times every Step for the latency
// histogram, notes the first host error (after which the broker treats the enclave
// as dead and never calls it again) and, for exec, the CHECKPOINTs it emits. It is
// called by one goroutine (the broker's event loop, or formation before it) and read
// by others.
type Watched struct {
	Role    spec.Role // the compartment's role
	Build   string    // the build it runs
	e       broker.Enclave
	latency *Histogram
	log     *slog.Logger
	now     func() time.Time

	Pid int // the process id when e is a process (0 otherwise)

	mu   sync.Mutex
	dead error        // the first host error; nil while alive
	cps  []Checkpoint // exec only: the last checkpointRing own checkpoints, oldest first
}

// Watch wraps e, the compartment of role r running build.
func Watch(e broker.Enclave, r spec.Role, build string, log *slog.Logger) *Watched {
	w := &Watched{Role: r, Build: build, e: e, latency: NewHistogram(LatencyBounds), log: log, now: time.Now}
	if p, ok := e.(interface{ Pid() int }); ok {
		w.Pid = p.Pid()
	}
	return w
}

// Init passes through, noting a host error.
func (w *Watched) Init(req []byte) ([]byte, error) {
	out, err := w.e.Init(req)
	w.noteErr(err, "init")
	return out, err
}

// Step times the call and passes it through, noting a host error and (exec) the
// checkpoints in the output.
func (w *Watched) Step(in []byte) ([]byte, error) {
	start := w.now()
	out, err := w.e.Step(in)
	w.latency.Observe(w.now().Sub(start).Seconds())
	w.noteErr(err, "step")
	if err == nil && w.Role == spec.RoleExec {
		w.noteCheckpoints(out)
	}
	return out, err
}

// noteErr records the first host error and logs it: the broker marks the enclave dead
// and it is never restarted (DESIGN.md §5).
func (w *Watched) noteErr(err error, call string) {
	if err == nil {
		return
	}
	w.mu.Lock()
	first := w.dead == nil
	if first {
		w.dead = err
	}
	w.mu.Unlock()
	if first {
		w.log.Error("compartment failed; the replica carries on without it and has a fresh one admitted in a new epoch (a restarted enclave has new keys)",
			"role", spec.RoleName(w.Role), "build", w.Build, "call", call, "err", err)
	}
}

// noteCheckpoints remembers the CHECKPOINTs in an exec StepOutput. It reads only
// their bodies, each decoded strictly, and skips the framing of the rest
// (spec.OutputBodiesRaw): the broker decodes the whole output itself.
func (w *Watched) noteCheckpoints(raw []byte) {
	_ = spec.OutputBodiesRaw(raw, spec.KindCheckpoint, func(body []byte) {
		var cp spec.Checkpoint
		if spec.Decode(body, &cp, spec.MaxBodyBytes(spec.KindCheckpoint)) != nil {
			return
		}
		w.mu.Lock()
		w.cps = append(w.cps, Checkpoint{Seq: cp.Body.Seq, State: cp.Body.State})
		if len(w.cps) > checkpointRing {
			w.cps = w.cps[len(w.cps)-checkpointRing:]
		}
		w.mu.Unlock()
	})
}

// Dead returns the host error that killed the enclave, or nil while it is alive.
func (w *Watched) Dead() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dead
}

// Checkpoints returns the exec's recent own checkpoints, oldest first.
func (w *Watched) Checkpoints() []Checkpoint {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Checkpoint(nil), w.cps...)
}

// Latency returns the Step latency histogram.
func (w *Watched) Latency() HistogramSnapshot { return w.latency.Snapshot() }
