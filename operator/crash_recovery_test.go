package operator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// CrashRoundsEnv sets the rounds of TestCrashRecoverRounds (default 5); CrashSeedEnv
// its seed (default 1402), to replay a failure.
const (
	CrashRoundsEnv = "SPLITBFT_CRASH_ROUNDS"
	CrashSeedEnv   = "SPLITBFT_CRASH_SEED"
)

// crashClients is the number of concurrent clients (ids 1..crashClients).
const crashClients = 6

// TestCrashRecoverRounds is the Jepsen-style crash test of issue 14: a process
// cluster with concurrent clients doing random get/put/del/cas on a few shared keys;
// in each round, at a seeded random moment, every replica's process group is killed
// with SIGKILL, the same commands start them again and `splitbft recover-cluster`
// recovers the cluster into the next epoch. Rounds cycle through three kinds: a
// kill under load (which lands mid-fsync or mid-checkpoint as the timing falls), a
// kill just after `splitbft recover` of one compartment began (mid-epoch-change),
// and a kill under load followed by a second kill during the recovery, once the
// replicas replay the plan or while the tool collects offers (the next recovery must
// still work). After each recovery every key is read back and
// must hold what some write could have left (no acknowledged write missing); at the
// end the whole history is checked with porcupine (an operation cut off by a kill
// has an unknown outcome and returns at infinity), the replicas agree on a
// checkpoint, and `splitbft ledger verify` passes on every ledger.
func TestCrashRecoverRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills 16 processes per round; skipped in -short mode")
	}
	rounds, seed := envInt(t, CrashRoundsEnv, 5), uint64(envInt(t, CrashSeedEnv, 1402))
	t.Logf("seed %d, %d rounds (%s, %s)", seed, rounds, CrashSeedEnv, CrashRoundsEnv)
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1", "--clients", strconv.Itoa(crashClients))
	cr := &crashRun{pc: pc, seed: seed, rng: rand.New(rand.NewPCG(seed, 9)), h: &crashHistory{}}
	for i := range pc.reps {
		cr.logs = append(cr.logs, fmt.Sprintf("replica-%d.log", i))
	}
	defer func() {
		if t.Failed() {
			t.Logf("seed %d failed: rerun with %s=%d %s=%d", seed, CrashSeedEnv, seed, CrashRoundsEnv, rounds)
		}
	}()
	all := []int{0, 1, 2, 3}
	pc.waitEpoch(all, 0, time.Now().Add(90*time.Second))
	for r := range rounds {
		cr.round(r)
	}
	cr.finalLoad(30)
	all2, answered := cr.h.counts()
	if err := cr.h.checkLinearizable(2 * time.Minute); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	t.Logf("seed %d: %d operations over %d rounds (%d answered), linearizable", seed, all2, rounds, answered)
	seq, digests := pc.agreeingCheckpoint(all, 1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("seed %d: checkpoint %d: replicas disagree on the state digest: %v", seed, seq, digests)
		}
	}
	pc.killAll()
	for _, i := range all {
		cr.ledgerVerify(i)
	}
}

// crashRun is the state of TestCrashRecoverRounds across rounds.
type crashRun struct {
	pc      *procCluster
	seed    uint64
	rng     *rand.Rand
	h       *crashHistory
	epoch   uint64   // the epoch every replica reached after the last recovery
	logs    []string // each replica's current log file
	unknown int      // operations without an answer, up to the last kill
}

// round runs one round: load, a kill of the kind r selects, restart, recovery, and
// the read-back.
func (cr *crashRun) round(r int) {
	pc, t := cr.pc, cr.pc.t
	delay := time.Duration(800+cr.rng.IntN(2500)) * time.Millisecond
	var before func()
	kind := [...]string{"under load", "mid-epoch-change", "under load, then mid-recovery"}[r%3]
	if r%3 == 1 {
		before = cr.startRecover()
	}
	n := cr.loadUntilKilled(r, delay, before)
	all, answered := cr.h.counts()
	cr.unknown = all - answered
	t.Logf("round %d (%s): killed every replica after %v; %d operations so far, %d of them unanswered", r, kind, delay, n, cr.unknown)
	cr.restartAll(fmt.Sprintf("round-%d", r))
	if r%3 == 2 {
		cr.killDuringRecovery(r)
	}
	stop := cr.supervise(r)
	out := pc.recoverCluster(nil)
	t.Logf("round %d: recover-cluster: %s", r, replayLine(out))
	pc.waitEpoch([]int{0, 1, 2, 3}, cr.epoch+1, time.Now().Add(120*time.Second))
	stop()
	prev := cr.epoch
	cr.epoch = cr.minEpoch()
	t.Logf("round %d: every replica in epoch %d (was %d)", r, cr.epoch, prev)
	cr.readBack(r)
}

// loadUntilKilled runs the clients until, after delay, every replica's process group
// is killed (calling before, if set, a moment earlier); it returns the operations
// recorded so far.
func (cr *crashRun) loadUntilKilled(r int, delay time.Duration, before func()) int {
	pc := cr.pc
	ctx, cancel := context.WithCancel(context.Background())
	kvs := cr.connectKV(1, crashClients)
	var wg sync.WaitGroup
	for i, kv := range kvs {
		rng := rand.New(rand.NewPCG(cr.seed, uint64(100*r+i)))
		wg.Go(func() { cr.h.runClient(ctx, i, kv, rng, 0) })
	}
	timer := time.NewTimer(delay)
	<-timer.C
	if before != nil {
		before()
	}
	for _, c := range pc.reps {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	cancel()
	wg.Wait()
	for _, kv := range kvs {
		kv.Close()
	}
	pc.killAll()
	n, _ := cr.h.counts()
	return n
}

// finalLoad has every client run ops operations (so that the replicas checkpoint in
// the last epoch); every one must be answered.
func (cr *crashRun) finalLoad(ops int) {
	kvs := cr.connectKV(1, crashClients)
	var wg sync.WaitGroup
	for i, kv := range kvs {
		rng := rand.New(rand.NewPCG(cr.seed, uint64(1_000_000+i)))
		wg.Go(func() { cr.h.runClient(context.Background(), i, kv, rng, ops) })
	}
	wg.Wait()
	for _, kv := range kvs {
		kv.Close()
	}
	if all, answered := cr.h.counts(); all != answered+cr.unknown {
		cr.pc.t.Fatalf("seed %d: %d operations of the final load failed with every replica up", cr.seed, all-answered-cr.unknown)
	}
}

// startRecover returns a function that starts `splitbft recover` of a seeded
// compartment of a seeded replica and waits a seeded 0–400 ms, so that the kill
// after it lands while the epoch change runs (or just before or after it).
func (cr *crashRun) startRecover() func() {
	pc := cr.pc
	rep, role := cr.rng.IntN(4), spec.Role(cr.rng.IntN(3))
	wait := time.Duration(cr.rng.IntN(400)) * time.Millisecond
	return func() {
		cmd := exec.Command(filepath.Join(pc.bin, "splitbft"), "recover", "--dir", pc.dir,
			"--replica", strconv.Itoa(rep), "--role", spec.RoleName(role))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			pc.t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		<-time.After(wait) // the kill point: a seeded moment into the epoch change
		select {
		case err := <-done:
			pc.t.Logf("recover --replica %d --role %s: kill %v after it started (%v: %s)", rep, spec.RoleName(role), wait, err, lastLine(out.Bytes()))
		default:
			pc.t.Logf("recover --replica %d --role %s: kill %v after it started, while it ran", rep, spec.RoleName(role), wait)
		}
	}
}

// killDuringRecovery starts recover-cluster and kills every replica a seeded moment
// after replica 0 reached a milestone of the recovery: its plan accepted (the
// replicas replay and form the recovery epoch) in rounds 2, 8, …, its offer ready
// (the tool collects offers) in rounds 5, 11, …; then it starts them again.
func (cr *crashRun) killDuringRecovery(r int) {
	pc := cr.pc
	milestone, upTo := "recovery plan accepted", 300
	if (r/3)%2 == 1 {
		milestone, upTo = "recovery offer ready", 1500
	}
	wait := time.Duration(cr.rng.IntN(upTo)) * time.Millisecond
	cmd := exec.Command(filepath.Join(pc.bin, "splitbft"), "recover-cluster", "--dir", pc.dir,
		"--member-key", MemberKeyPath(pc.dir, 0), "--timeout", "150s")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		pc.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pc.waitLog(fmt.Sprintf("replica-0-round-%d.log", r), milestone, time.Now().Add(120*time.Second))
	<-time.After(wait) // the kill point: a seeded moment after the milestone
	select {
	case err := <-done:
		pc.t.Logf("round %d: killed every replica %v after %q; recover-cluster had finished (%v): %s", r, wait, milestone, err, replayLine([]byte(out.String())))
		pc.killAll()
	default:
		pc.t.Logf("round %d: killed every replica %v after %q, recover-cluster still running", r, wait, milestone)
		pc.killAll()
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	cr.restartAll(fmt.Sprintf("round-%d-again", r))
}

// restartAll starts every replica again with the same command, logging to
// replica-I-tag.log.
func (cr *crashRun) restartAll(tag string) {
	cr.pc.restartAll(tag)
	for i := range cr.logs {
		cr.logs[i] = fmt.Sprintf("replica-%d-%s.log", i, tag)
	}
}

// supervise restarts, with the same command, every replica that stops asking for it
// (errRestart: e.g. killed before it recorded a recovery its peers adopted, SPEC
// §17.8), as an operator's service manager would, until the returned stop is called.
// Only its goroutine touches pc.reps meanwhile.
func (cr *crashRun) supervise(r int) (stop func()) {
	pc := cr.pc
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			for i := range pc.reps {
				log, _ := os.ReadFile(filepath.Join(pc.dir, cr.logs[i]))
				if !bytes.Contains(log, []byte(errRestart.Error())) {
					continue
				}
				err := pc.reps[i].Wait()
				n++
				cr.logs[i] = fmt.Sprintf("replica-%d-round-%d-restart-%d.log", i, r, n)
				pc.t.Logf("round %d: replica %d stopped (%v) asking to be started again: %s", r, i, err, restartReason(log))
				pc.reps[i] = pc.spawn(i, cr.logs[i], pc.replicaCmd(i)...)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// restartReason is the line of a replica's log that says why it stopped.
func restartReason(log []byte) string {
	i := bytes.Index(log, []byte(`msg="replica stopped"`))
	if i < 0 {
		return "(no log line)"
	}
	line, _, _ := bytes.Cut(log[i:], []byte("\n"))
	return string(line)
}

// minEpoch is the lowest epoch the replicas serve.
func (cr *crashRun) minEpoch() uint64 {
	e := uint64(1<<63 - 1)
	for _, s := range cr.pc.status() {
		if s.Status != nil {
			e = min(e, s.Status.Epoch)
		}
	}
	return e
}

// readBack reads every key with one client and checks each answer against the
// history (checkReadBack); the reads join the history.
func (cr *crashRun) readBack(r int) {
	pc := cr.pc
	ctx := context.Background()
	kv := cr.connectKV(1, 1)[0]
	defer kv.Close()
	for k := range crashKeys {
		op := Op{Verb: "get", Key: []byte("k" + strconv.Itoa(k))}
		at := cr.h.call()
		got := cr.h.do(ctx, crashClients, kv, op)
		if got == "" {
			pc.t.Fatalf("seed %d round %d: get %s after the recovery failed", cr.seed, r, op.Key)
		}
		if err := cr.h.checkReadBack(string(op.Key), got, at); err != nil {
			pc.t.Fatalf("seed %d round %d: %v", cr.seed, r, err)
		}
	}
}

// ledgerVerify runs `splitbft ledger verify` on every ledger of replica id, with the
// configuration it starts with.
func (cr *crashRun) ledgerVerify(id int) {
	pc, t := cr.pc, cr.pc.t
	starts, err := LedgerStarts(pc.dir, uint64(id))
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(pc.dir, fmt.Sprintf("replica-%d", id), "ledger", "*"))
	if len(dirs) == 0 {
		t.Fatalf("replica %d has no ledger", id)
	}
	for j, d := range dirs {
		cfg := starts[d]
		if cfg == nil {
			t.Fatalf("replica %d: ledger %s starts with no configuration of the chain", id, d)
		}
		path := filepath.Join(t.TempDir(), fmt.Sprintf("start-%d-%d.cbor", id, j))
		if err := os.WriteFile(path, spec.Encode(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(filepath.Join(pc.bin, "splitbft"), "ledger", "verify", "--dir", d, "--config", path).CombinedOutput()
		if err != nil {
			t.Fatalf("seed %d: replica %d: splitbft ledger verify --dir %s: %v\n%s", cr.seed, id, d, err, out)
		}
		t.Logf("replica %d: %s", id, bytes.TrimSpace(out))
	}
}

// replayLine is the line of recover-cluster's output that names the state it
// recovers from, or its last line.
func replayLine(out []byte) string {
	if i := bytes.Index(out, []byte("replay from")); i >= 0 {
		line, _, _ := bytes.Cut(out[i:], []byte("\n"))
		return string(line)
	}
	return lastLine(out)
}

// lastLine is the last non-empty line of out.
func lastLine(out []byte) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return string(lines[len(lines)-1])
}

// connectKV connects clients first..first+n−1; the caller closes them.
func (cr *crashRun) connectKV(first, n int) []*KV {
	var out []*KV
	for id := first; id < first+n; id++ {
		kv, err := Connect(context.Background(), KVOptions{Dir: cr.pc.dir, ID: uint64(id), Wait: 2 * time.Minute,
			Stderr: io.Discard, Quiet: true, Timeout: 20 * time.Second})
		if err != nil {
			cr.pc.t.Fatalf("seed %d: client %d: %v", cr.seed, id, err)
		}
		out = append(out, kv)
	}
	return out
}
