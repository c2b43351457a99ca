package cpusched

import (
	"errors"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

// TestBatchEveryThreadAndChildren sets SCHED_BATCH and reads the policy back from
// every thread of the process and from a child process started afterwards, then
// sets the default policy back.
func TestBatchEveryThreadAndChildren(t *testing.T) {
	if err := Batch(); err != nil {
		t.Skipf("SCHED_BATCH refused here (%v): nothing to test", err)
	}
	defer func() {
		if err := Normal(); err != nil {
			t.Fatal(err)
		}
		checkAll(t, "normal")
	}()
	checkAll(t, "batch")
	child := exec.Command("sleep", "5")
	if err := child.Start(); err != nil {
		t.Skipf("cannot start a child process: %v", err)
	}
	defer child.Wait()
	defer child.Process.Kill()
	if got, err := Policy(child.Process.Pid); err != nil || got != "batch" {
		t.Errorf("child process: policy %q, %v; want batch (inherited)", got, err)
	}
}

// checkAll fails t unless every thread of the process has policy want.
func checkAll(t *testing.T, want string) {
	t.Helper()
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	if len(tids) < 2 {
		t.Fatalf("%d threads listed; a Go process has several", len(tids))
	}
	for _, tid := range tids {
		got, err := Policy(tid)
		if errors.Is(err, syscall.ESRCH) {
			continue // the thread ended after the listing
		}
		if err != nil || got != want {
			t.Errorf("thread %d: policy %q, %v; want %s", tid, got, err, want)
		}
	}
}

// TestOnThisThread: the calling thread gets the policy Batch or Normal last chose,
// and keeps its own when neither ran.
func TestOnThisThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := set(0, policyBatch); err != nil {
		t.Skipf("SCHED_BATCH refused here (%v): nothing to test", err)
	}
	defer set(0, policyOther)
	defer chosen.Store(chosen.Load())
	chosen.Store(-1)
	if err := OnThisThread(); err != nil {
		t.Fatal(err)
	}
	if got, _ := Policy(0); got != "batch" {
		t.Fatalf("no policy chosen: the thread's became %q, want its own (batch)", got)
	}
	chosen.Store(policyOther)
	if err := OnThisThread(); err != nil {
		t.Fatal(err)
	}
	if got, _ := Policy(0); got != "normal" {
		t.Fatalf("normal chosen: the thread's policy is %q", got)
	}
}

// TestApply: batch from the default policy, normal from batch, and the policy named
// in the result is the one in force.
func TestApply(t *testing.T) {
	if p, err := Policy(0); err != nil || p != "normal" {
		t.Skipf("the test runs under policy %q (%v): Apply keeps it", p, err)
	}
	if got, err := Apply("batch"); err != nil {
		t.Skipf("SCHED_BATCH refused here (%v, %s): nothing to test", err, got)
	}
	defer Normal()
	checkAll(t, "batch")
	if got, err := Apply("batch"); err != nil || got != "batch" {
		t.Errorf("batch again: %q, %v", got, err)
	}
	if got, err := Apply("normal"); err != nil || got != "normal" {
		t.Fatalf("normal: %q, %v", got, err)
	}
	checkAll(t, "normal")
	if _, err := Apply("fifo"); err == nil {
		t.Error("an unknown policy was accepted")
	}
}
