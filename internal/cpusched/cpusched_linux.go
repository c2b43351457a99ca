package cpusched

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Linux scheduling policies (sched(7)).
const (
	policyOther = 0 // SCHED_OTHER, the default
	policyBatch = 3 // SCHED_BATCH
)

// chosen is the policy Batch or Normal last set on the process; -1: neither ran.
var chosen atomic.Int32

func init() { chosen.Store(-1) }

// Batch puts every thread of the process under SCHED_BATCH, and with them the
// threads and child processes they create later (both inherit the policy).
func Batch() error { chosen.Store(policyBatch); return setAll(policyBatch) }

// Normal puts every thread of the process back under the default policy.
func Normal() error { chosen.Store(policyOther); return setAll(policyOther) }

// OnThisThread sets the policy Batch or Normal last set on the calling OS thread,
// if either ran. A caller about to start a child process calls it with its
// goroutine locked to its thread (runtime.LockOSThread), so that the child inherits
// the policy even if the thread was created while setAll listed the others (the
// kernel copies the policy when the thread is cloned, but the thread appears in
// /proc/self/task only afterwards).
func OnThisThread() error {
	p := chosen.Load()
	if p < 0 {
		return nil
	}
	return set(0, int(p))
}

// setAll sets policy on every thread listed in /proc/self/task, listing again until
// a pass finds no thread it had not set: a thread created during a pass was cloned
// from one that may not have had the policy yet.
func setAll(policy int) error {
	done := map[int]bool{}
	for pass := 0; ; pass++ {
		tids, err := threads()
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh++
			if err := set(tid, policy); err != nil && err != syscall.ESRCH { // ESRCH: the thread ended
				return fmt.Errorf("cpusched: thread %d: sched_setscheduler: %w", tid, err)
			}
			done[tid] = true
		}
		if fresh == 0 {
			return nil
		}
		if pass == 100 {
			return fmt.Errorf("cpusched: threads kept appearing after %d passes", pass)
		}
	}
}

// threads lists the process's thread ids.
func threads() ([]int, error) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("cpusched: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("cpusched: reading /proc/self/task: %w", err)
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// set calls sched_setscheduler(tid, policy, {priority 0}).
func set(tid, policy int) error {
	var param struct{ priority int32 }
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(policy), uintptr(unsafe.Pointer(&param)))
	if errno != 0 {
		return errno
	}
	return nil
}

// Policy returns the name of the policy of thread tid (0: the calling thread):
// "batch", "normal", or "policy N".
func Policy(tid int) (string, error) {
	p, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
	if errno != 0 {
		return "", fmt.Errorf("cpusched: sched_getscheduler: %w", errno)
	}
	switch int(p) {
	case policyBatch:
		return "batch", nil
	case policyOther:
		return "normal", nil
	}
	return "policy " + strconv.Itoa(int(p)), nil
}

// Apply sets the policy that want names ("batch" or "normal") on the process if it
// runs under the default policy or SCHED_BATCH (a policy an operator chose, such as
// a real-time one, is kept), and returns the name of the calling thread's policy
// afterwards. A refusal part-way puts the threads it changed back.
func Apply(want string) (string, error) {
	cur, err := Policy(0)
	if err != nil {
		return "unknown", err
	}
	var apply func() error
	switch {
	case want == "batch" && cur == "normal":
		apply = Batch
	case want == "normal" && cur == "batch":
		apply = Normal
	case want != "batch" && want != "normal":
		return cur, fmt.Errorf("cpusched: unknown policy %q", want)
	default:
		return cur, nil
	}
	if err := apply(); err != nil {
		if cur == "normal" {
			Normal()
		} else {
			Batch()
		}
		got, _ := Policy(0)
		return got, err
	}
	return Policy(0)
}
