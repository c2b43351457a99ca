package cpusched

import (
	"os/exec"
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
		if got, err := Policy(tid); err != nil || got != want {
			t.Errorf("thread %d: policy %q, %v; want %s", tid, got, err, want)
		}
	}
}
