package operator

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/splitbft/splitbft/spec"
)

// TestClusterProcesses runs the operator's whole flow on one machine: `splitbft init`,
// four `splitbft replica` processes on 127.0.0.1 (each with three compartment
// processes), and a workload through `splitbft kv script` checked against a model.
// Midway it kills the primary's replica with its compartments; the survivors change
// view, the workload completes, and they report the same state digest at a common
// checkpoint past the kill.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes; skipped in -short mode")
	}
	pc := &procCluster{t: t, wrap: func(_ int, argv []string) []string { return argv }}
	pc.start(4, "--base-port", strconv.Itoa(freeBase(t, 12)))
	checkKillAndAgree(t, pc, 0, 1, 240, 60)
	for _, e := range pc.status()[1:] {
		if v := e.Status.Compartments[spec.RolePrep].View; v < 1 {
			t.Errorf("replica %d prep is in view %d after the primary died, want ≥ 1", e.Replica, v)
		}
	}
}

// checkKillAndAgree runs ops operations, kills replica victim's process group before
// operation killAt, and checks that the other replicas agree on a checkpoint above
// everything executed before the kill.
func checkKillAndAgree(t *testing.T, pc *procCluster, victim int, seed uint64, ops, killAt int) {
	var before uint64
	pc.workload(seed, ops, func(i int) {
		if i != killAt {
			return
		}
		for _, e := range pc.status() {
			if e.Status != nil {
				before = max(before, e.Status.Compartments[spec.RoleExec].Last)
			}
		}
		pgid := pc.reps[victim].Process.Pid
		t.Logf("killing replica %d (process group %d) after batch %d", victim, pgid, before)
		killGroup(pc.reps[victim])
		waitGroupGone(t, pgid)
	})
	var live []int
	for i := range pc.reps {
		if i != victim {
			live = append(live, i)
		}
	}
	seq, digests := pc.agreeingCheckpoint(live, before+1, time.Now().Add(30*time.Second))
	for _, i := range live {
		if digests[i] == "" || digests[i] != digests[live[0]] {
			t.Fatalf("checkpoint %d: replicas disagree on the state digest: %v", seq, digests)
		}
	}
	t.Logf("replicas %v agree at checkpoint %d (after batch %d at the kill): state %s", live, seq, before, digests[live[0]][:16])
}

// waitGroupGone waits until no process of group pgid is left: the replica and its
// three compartment processes all died.
func waitGroupGone(t testing.TB, pgid int) {
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(-pgid, 0) == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has processes 10s after SIGKILL", pgid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeBase returns a base port such that base..base+n-1 are free on 127.0.0.1 now.
// The range lies below Linux's default ephemeral ports (32768–60999), so that a
// replica restarted by a test does not find one of its ports taken by an outgoing
// connection (a status poll, a client, a peer's dial) that the kernel gave it.
func freeBase(t testing.TB, n int) int {
	for try := range 50 {
		base := 20000 + (os.Getpid()*7+try*977)%12000
		var ls []net.Listener
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if ok = err == nil; ok {
				ls = append(ls, l)
			}
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free range of ports")
	return 0
}
