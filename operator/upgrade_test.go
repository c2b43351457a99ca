package operator

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
)

// TestRollingUpgradeProcesses is issue 13's rolling upgrade (SPEC §17.5, §17.6): with
// a workload running and checked against a model, `splitbft recover --build <partner>`
// moves every replica's prep and conf to the other implementation of its role (prep-a
// ↔ prep-b, conf-a ↔ conf-b), one compartment at a time, each an epoch change. At the
// end every replica's status shows the partner builds, all replicas are in epoch 8 and
// agree on a checkpoint of that epoch, and no answer was wrong or lost (the workload
// checks every one).
func TestRollingUpgradeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes and replaces 8; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	for deadline := time.Now().Add(60 * time.Second); !pc.inEpoch(0); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not form within 60s")
		}
	}
	st := pc.status()
	type step struct {
		replica int
		role    spec.Role
		build   string
	}
	var steps []step
	for i := range 4 {
		if st[i].Status == nil {
			t.Fatalf("replica %d serves no status: %s", i, st[i].Error)
		}
		for _, role := range []spec.Role{spec.RolePrep, spec.RoleConf} {
			b := builds.MustLookup(st[i].Status.Compartments[role].Build)
			steps = append(steps, step{i, role, b.Partner})
		}
	}
	next, waitFor, tail := 0, uint64(0), 0
	pc.workloadWhile(29, func(i int) bool {
		if next == len(steps) {
			tail++
			return tail <= 40 // 40 operations in the last epoch: checkpoints to agree on
		}
		if i%10 != 5 || !pc.inEpoch(waitFor) {
			return true
		}
		s := steps[next]
		pc.recover(s.replica, s.role, s.build)
		t.Logf("op %d: replica %d %s → %s (epoch %d → %d)", i, s.replica, spec.RoleName(s.role), s.build, waitFor, waitFor+1)
		next, waitFor = next+1, waitFor+1
		return true
	}, 3000)
	if next < len(steps) {
		t.Fatalf("only %d of %d upgrade steps started within the workload", next, len(steps))
	}
	all := []int{0, 1, 2, 3}
	pc.waitEpoch(all, uint64(len(steps)), time.Now().Add(60*time.Second))
	st = pc.status()
	for _, s := range steps {
		if got := st[s.replica].Status.Compartments[s.role].Build; got != s.build {
			t.Errorf("replica %d %s runs %s, want %s", s.replica, spec.RoleName(s.role), got, s.build)
		}
	}
	start := st[0].Status.EpochStart
	seq, digests := pc.agreeingCheckpoint(all, start+1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
	t.Logf("every prep and conf upgraded; epoch %d from seq %d; all agree at checkpoint %d", st[0].Status.Epoch, start, seq)
}

// recover runs `splitbft recover` for one compartment of a replica.
func (pc *procCluster) recover(replica int, role spec.Role, build string) {
	argv := pc.wrap(-1, []string{filepath.Join(pc.bin, "splitbft"), "recover", "--dir", pc.dir,
		"--replica", strconv.Itoa(replica), "--role", spec.RoleName(role), "--build", build})
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		pc.t.Fatalf("splitbft recover --replica %d --role %s --build %s: %v\n%s", replica, spec.RoleName(role), build, err, out)
	}
}

// inEpoch reports whether every replica serves a configuration of epoch ≥ min and
// has its three compartments configured and alive (no admission left waiting).
func (pc *procCluster) inEpoch(min uint64) bool {
	for _, e := range pc.status() {
		if e.Status == nil || e.Status.Epoch < min || e.Status.Error != "" {
			return false
		}
		for _, c := range e.Status.Compartments {
			if !c.Alive || !c.Configured {
				return false
			}
		}
	}
	return true
}

// workloadWhile writes ops drawn from seed to the script one at a time and checks every
// answer against a Model (workload is its fixed-length form); before op i it calls more(i) and stops
// when that returns false; it fails after max operations.
func (pc *procCluster) workloadWhile(seed uint64, more func(i int) bool, max int) {
	t := pc.t
	stdin, lines, cmd := pc.script()
	rng := rand.New(rand.NewPCG(seed, 7))
	m := Model{}
	for i := 0; more(i); i++ {
		if i == max {
			t.Fatalf("seed %d: still running after %d operations", seed, max)
		}
		op := RandomOp(rng, m, "k", 8, 6)
		want := m.Apply(op)
		fmt.Fprintln(stdin, scriptLine(op))
		select {
		case got, ok := <-lines:
			if !ok || got != want {
				t.Fatalf("seed %d op %d %s: got %q (open %v), want %q", seed, i, scriptLine(op), got, ok, want)
			}
		case <-time.After(45 * time.Second):
			t.Fatalf("seed %d op %d %s: no answer within 45s", seed, i, scriptLine(op))
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kv script exited with %v", err)
	}
}

// TestConcurrentRecoveriesProcesses: `splitbft recover` on three replicas at once
// (against the stagger of SPEC §17.6, as three operators might). Admissions that an
// epoch change overtakes are renewed by their replicas with fresh compartments for
// the new epoch (§17.5 step 3), so all three end admitted, with the builds asked for,
// under a checked workload and with no further command.
func TestConcurrentRecoveriesProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes and replaces 3; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	for deadline := time.Now().Add(60 * time.Second); !pc.inEpoch(0); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not form within 60s")
		}
	}
	st := pc.status()
	want := map[int]string{}
	for _, i := range []int{1, 2, 3} {
		want[i] = builds.MustLookup(st[i].Status.Compartments[spec.RolePrep].Build).Partner
	}
	done, tail := false, 0
	pc.workloadWhile(41, func(i int) bool {
		if i == 10 {
			pc.recoverAll(want)
		}
		if done {
			tail++
			return tail <= 40 // operations in the last epoch: checkpoints to agree on
		}
		if i > 10 && i%10 == 0 {
			done = pc.inEpoch(1) && pc.preps(want)
		}
		return true
	}, 3000)
	if !done {
		t.Fatal("the three recoveries never all completed")
	}
	renewed := 0
	for i := range 4 {
		raw, _ := os.ReadFile(filepath.Join(pc.dir, fmt.Sprintf("replica-%d.log", i)))
		renewed += strings.Count(string(raw), "admission overtaken")
	}
	all := []int{0, 1, 2, 3}
	seq, digests := pc.agreeingCheckpoint(all, pc.status()[0].Status.EpochStart+1, time.Now().Add(60*time.Second))
	for _, i := range all {
		if digests[i] != digests[0] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
	t.Logf("all three preps replaced; epoch %d; %d admissions renewed after being overtaken; all agree at checkpoint %d", pc.status()[0].Status.Epoch, renewed, seq)
}

// recoverAll runs `splitbft recover --role prep` for every replica in want at once.
func (pc *procCluster) recoverAll(want map[int]string) {
	errs := make(chan string, len(want))
	for r, b := range want {
		go func() {
			argv := []string{filepath.Join(pc.bin, "splitbft"), "recover", "--dir", pc.dir, "--replica", strconv.Itoa(r), "--role", "prep", "--build", b}
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				errs <- fmt.Sprintf("replica %d: %v: %s", r, err, out)
				return
			}
			errs <- ""
		}()
	}
	for range want {
		if e := <-errs; e != "" {
			pc.t.Fatalf("splitbft recover: %s", e)
		}
	}
}

// preps reports whether each replica in want runs the prep build it maps to.
func (pc *procCluster) preps(want map[int]string) bool {
	st := pc.status()
	for i, b := range want {
		if st[i].Status == nil || st[i].Status.Compartments[spec.RolePrep].Build != b {
			return false
		}
	}
	return true
}
