package operator

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// LongRecoveryEnv names the environment variable that turns TestProactiveRecovery
// into its long mode: a duration (e.g. "10m") for which recoveries run, at least two
// per compartment in any case.
const LongRecoveryEnv = "SPLITBFT_LONG_RECOVERY"

// TestProactiveRecovery is issue 13's proactive recovery test (SPEC §17.6): every
// replica runs with --recover-every set low, a workload checked against the model runs
// until every compartment of every replica was replaced at least twice (and, in the
// long mode, for the duration in SPLITBFT_LONG_RECOVERY), every common checkpoint the
// replicas report agrees, and one is reached after the last count. The operations are
// timed in chunks of chunkOps: a chunk during which some replica's epoch changed is a
// recovery chunk, the others steady; the throughput of both and their ratio are logged.
func TestProactiveRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes and replaces 24 or more; skipped in -short mode")
	}
	var long time.Duration
	if v := os.Getenv(LongRecoveryEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", LongRecoveryEnv, v, err)
		}
		long = d
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.replicaArgs = []string{"--recover-every", "4s"}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	pr := &proactive{pc: pc, rng: rand.New(rand.NewPCG(37, 7)), model: Model{}}
	pr.run(long)
	steady, rec := pr.steady.rate(), pr.rec.rate()
	t.Logf("replacements per compartment (replica: prep conf exec): %v", pr.counts)
	t.Logf("throughput: steady %.1f ops/s (%d ops in %v), during recovery %.1f ops/s (%d ops in %v): ratio %.2f; %d epoch changes",
		steady, pr.steady.ops, pr.steady.d.Round(time.Millisecond), rec, pr.rec.ops, pr.rec.d.Round(time.Millisecond), rec/steady, pr.epochs)
	whole := span{pr.steady.ops + pr.rec.ops, pr.steady.d + pr.rec.d}
	t.Logf("throughput over the whole run: %.1f ops/s, %.2f of steady; %.2fs of timed work per epoch change",
		whole.rate(), whole.rate()/steady, whole.d.Seconds()/float64(max(pr.epochs, 1)))
}

// chunkOps is the number of operations timed together.
const chunkOps = 10

// proactive drives TestProactiveRecovery's workload.
type proactive struct {
	pc     *procCluster
	rng    *rand.Rand
	model  Model
	counts [][3]int // by replica and role: admissions logged
	steady span
	rec    span
	epochs uint64 // epoch changes seen (at replica 0)
	agreed uint64 // highest common checkpoint seen
}

// span accumulates timed operations.
type span struct {
	ops int
	d   time.Duration
}

func (s span) rate() float64 { return float64(s.ops) / s.d.Seconds() }

// run drives the workload until every compartment was replaced twice, long has
// passed, and the replicas agreed on a checkpoint after that.
func (pr *proactive) run(long time.Duration) {
	t := pr.pc.t
	stdin, lines, cmd := pr.pc.script()
	start := time.Now()
	st := pr.waitRunning()
	target := uint64(0) // exec seq when the counts were reached
	for i := 0; ; i += chunkOps {
		if time.Since(start) > long+5*time.Minute {
			t.Fatalf("after %v: replacements %v, agreed checkpoint %d (target above %d)", time.Since(start), pr.counts, pr.agreed, target)
		}
		t0 := time.Now()
		for j := range chunkOps {
			pr.op(stdin, lines, i+j)
		}
		d := time.Since(t0)
		next := pr.pc.status()
		pr.classify(st, next, d)
		st = next
		pr.check(st)
		if target == 0 && pr.done() && time.Since(start) >= long {
			target = max(st[0].Status.Compartments[spec.RoleExec].Last, 1)
		}
		if target > 0 && pr.agreed > target {
			break
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kv script exited with %v", err)
	}
}

// waitRunning polls until the cluster formed and returns its status.
func (pr *proactive) waitRunning() []statusEntry {
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st := pr.pc.status()
		ok := true
		for _, e := range st {
			ok = ok && e.Status != nil && e.Status.Phase == PhaseRunning
		}
		if ok {
			return st
		}
		if time.Now().After(deadline) {
			pr.pc.t.Fatal("the cluster did not form within 60s")
		}
	}
}

// op runs operation i of the workload and checks its answer against the model.
func (pr *proactive) op(stdin interface{ Write([]byte) (int, error) }, lines <-chan string, i int) {
	op := RandomOp(pr.rng, pr.model, "k", 8, 6)
	want := pr.model.Apply(op)
	fmt.Fprintln(stdin, scriptLine(op))
	select {
	case got, ok := <-lines:
		if !ok || got != want {
			pr.pc.t.Fatalf("seed 37 op %d %s: got %q (open %v), want %q", i, scriptLine(op), got, ok, want)
		}
	case <-time.After(45 * time.Second):
		pr.pc.t.Fatalf("seed 37 op %d %s: no answer within 45s", i, scriptLine(op))
	}
}

// classify adds a chunk of duration d to the recovery span if some replica's epoch
// differs between the statuses before and after it, else to the steady span.
func (pr *proactive) classify(before, after []statusEntry, d time.Duration) {
	changed := false
	for i := range after {
		b, a := before[i].Status, after[i].Status
		changed = changed || b == nil || a == nil || a.Epoch != b.Epoch
	}
	if a, b := after[0].Status, before[0].Status; a != nil && b != nil {
		pr.epochs += a.Epoch - b.Epoch
	}
	s := &pr.steady
	if changed {
		s = &pr.rec
	}
	s.ops += chunkOps
	s.d += d
}

// check fails on a common checkpoint the replicas disagree on, records the highest
// agreed one, and counts the admissions in the replicas' logs.
func (pr *proactive) check(st []statusEntry) {
	all := []int{0, 1, 2, 3}
	if seq, digests, ok := commonCheckpoint(st, all, 1); ok {
		for _, i := range all {
			if digests[i] != digests[0] {
				pr.pc.t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
			}
		}
		pr.agreed = max(pr.agreed, seq)
	}
	pr.counts = admissionsLogged(pr.pc.t, pr.pc.dir, len(st))
}

// done reports whether every compartment of every replica was replaced twice.
func (pr *proactive) done() bool {
	for _, c := range pr.counts {
		for _, n := range c {
			if n < 2 {
				return false
			}
		}
	}
	return len(pr.counts) > 0
}

var admittedLine = regexp.MustCompile(`msg="compartment admitted" .*role=(prep|conf|exec)`)

// admissionsLogged counts, by replica and role, the "compartment admitted" lines in
// the replicas' logs.
func admissionsLogged(t testing.TB, dir string, n int) [][3]int {
	out := make([][3]int, n)
	for i := range n {
		raw, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range admittedLine.FindAllStringSubmatch(string(raw), -1) {
			out[i][roleByName[m[1]]]++
		}
	}
	return out
}
