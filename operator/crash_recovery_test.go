package operator

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestCrashRecoverRounds is the crash test of issue 14 in its short form: rounds in
// which a checked workload runs and, at a seeded random moment (mid-operation, so
// also mid-fsync or mid-checkpoint), every replica's processes are killed with
// SIGKILL; the same commands start them again and `splitbft recover-cluster`
// recovers the cluster into the next epoch. The operation in flight at the kill is
// the only one whose outcome is open: it took effect or not, and a read decides
// which; every acknowledged write must read back after each round. The history is
// one closed-loop client's, so checking it against the sequential model is checking
// linearizability. SPLITBFT_CRASH_ROUNDS sets the rounds (default 5).
func TestCrashRecoverRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills 16 processes per round; skipped in -short mode")
	}
	rounds := 5
	if v, err := strconv.Atoi(os.Getenv("SPLITBFT_CRASH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	const seed = 1402
	t.Logf("seed %d, %d rounds", seed, rounds)
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)), "--members", "1")
	m, rng := Model{}, rand.New(rand.NewPCG(seed, 9))
	all := []int{0, 1, 2, 3}
	for r := range rounds {
		delay := time.Duration(1000+rng.IntN(3000)) * time.Millisecond
		open := pc.opsUntilKilled(m, rng, delay)
		t.Logf("round %d: killed every replica after %v (operation in flight: %v)", r, delay, open != nil)
		for i := range pc.reps {
			pc.reps[i] = pc.spawn(i, fmt.Sprintf("replica-%d-round-%d.log", i, r), pc.replicaCmd(i)...)
		}
		out, err := exec.Command(filepath.Join(pc.bin, "splitbft"), "recover-cluster", "--dir", pc.dir,
			"--member-key", MemberKeyPath(pc.dir, 0), "--timeout", "90s").CombinedOutput()
		if err != nil {
			t.Fatalf("seed %d round %d: recover-cluster: %v\n%s", seed, r, err, out)
		}
		pc.waitEpoch(all, uint64(r+1), time.Now().Add(90*time.Second))
		if open != nil {
			pc.settle(m, open)
		}
		pc.checkedOps(m, rng, 0, nil) // every acknowledged write reads back
	}
	pc.checkedOps(m, rng, 40, nil)
	seq, digests := pc.agreeingCheckpoint(all, 1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("seed %d: checkpoint %d: replicas disagree on the state digest: %v", seed, seq, digests)
		}
	}
	for _, c := range pc.reps {
		killGroup(c)
	}
	for _, i := range all {
		verifyLedgers(t, pc.dir, uint64(i), uint64(rounds))
	}
}

// openOp is an operation whose outcome a crash left open: the model before and after.
type openOp struct {
	op            Op
	before, after Model
}

// opsUntilKilled runs checked random operations until, after delay, every replica's
// process group is killed; it returns the operation in flight then (nil if none).
func (pc *procCluster) opsUntilKilled(m Model, rng *rand.Rand, delay time.Duration) *openOp {
	t := pc.t
	stdin, lines, cmd := pc.script()
	defer killGroup(cmd)
	killed := make(chan struct{})
	time.AfterFunc(delay, func() {
		for _, c := range pc.reps {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
		close(killed)
	})
	defer func() {
		<-killed
		for _, c := range pc.reps {
			killGroup(c)
			waitGroupGone(t, c.Process.Pid)
		}
	}()
	for i := 0; ; i++ {
		op := RandomOp(rng, m, "k", 8, 6)
		before := cloneModel(m)
		want := m.Apply(op)
		fmt.Fprintln(stdin, scriptLine(op))
		select {
		case got, ok := <-lines:
			if ok && got == want {
				continue
			}
			select {
			case <-killed: // an error after the kill: the outcome is open
			default:
				t.Fatalf("op %d %s: got %q (open %v), want %q", i, scriptLine(op), got, ok, want)
			}
		case <-killed:
		}
		after := cloneModel(m)
		restore(m, before)
		return &openOp{op: op, before: before, after: after}
	}
}

// settle reads the open operation's key and makes the model the state it shows.
func (pc *procCluster) settle(m Model, o *openOp) {
	get := Op{Verb: "get", Key: o.op.Key}
	stdin, lines, cmd := pc.script()
	defer killGroup(cmd)
	fmt.Fprintln(stdin, scriptLine(get))
	var got string
	select {
	case got = <-lines:
	case <-time.After(60 * time.Second):
		pc.t.Fatalf("get %q after the recovery: no answer within 60s", o.op.Key)
	}
	stdin.Close()
	cmd.Wait()
	switch {
	case got == cloneModel(o.after).Apply(get):
		pc.t.Logf("%s, in flight at the kill, took effect", scriptLine(o.op))
		restore(m, o.after)
	case got == cloneModel(o.before).Apply(get):
		pc.t.Logf("%s, in flight at the kill, did not take effect (or left the key as it was)", scriptLine(o.op))
	default:
		pc.t.Fatalf("%s was in flight at the kill; now %q reads %q, neither its outcome nor the state before it", scriptLine(o.op), o.op.Key, got)
	}
}

func cloneModel(m Model) Model {
	c := Model{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

func restore(m, from Model) {
	clear(m)
	for k, v := range from {
		m[k] = v
	}
}
