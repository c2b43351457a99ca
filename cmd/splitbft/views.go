package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/spec"
)

// viewWatch follows the cluster's view as its live replicas report it, and remembers
// the replica -kill-primary stopped. It is safe for concurrent use.
type viewWatch struct {
	mu       sync.Mutex
	view     uint64        // the highest conf view a live replica reported
	changes  int           // how many times view went up
	killed   int           // the replica killed, or -1
	killedAt time.Duration // when, from the start of the workload
	killedIn uint64        // the view it was the primary of
}

func newViewWatch() *viewWatch { return &viewWatch{killed: -1} }

// observe polls every live replica and returns the statuses of the first live one.
func (vw *viewWatch) observe(cl *localnet.Cluster) [3]spec.Status {
	var first [3]spec.Status
	found := false
	top := uint64(0)
	for i := range cl.N() {
		if cl.Killed(i) {
			continue
		}
		st, err := cl.Status(i)
		if err != nil {
			continue
		}
		if !found {
			first, found = st, true
		}
		top = max(top, st[spec.RoleConf].View)
	}
	vw.mu.Lock()
	defer vw.mu.Unlock()
	if top > vw.view {
		vw.view = top
		vw.changes++
	}
	return first
}

// snapshot returns the view, the number of view changes seen, and the kill, if any.
func (vw *viewWatch) snapshot() (view uint64, changes, killed int, at time.Duration, in uint64) {
	vw.mu.Lock()
	defer vw.mu.Unlock()
	return vw.view, vw.changes, vw.killed, vw.killedAt, vw.killedIn
}

// killPrimaryAfter stops the replica that is the primary of the current view once d
// has passed since start (unless stop is closed first), and records it.
func (vw *viewWatch) killPrimaryAfter(cl *localnet.Cluster, d time.Duration, start time.Time, stop <-chan struct{}, log io.Writer) {
	select {
	case <-stop:
		return
	case <-time.After(d - time.Since(start)):
	}
	st := vw.observe(cl)
	v := st[spec.RolePrep].View
	p := int(cl.Config.Primary(v))
	cl.Kill(p)
	vw.mu.Lock()
	vw.killed, vw.killedAt, vw.killedIn = p, time.Since(start), v
	vw.mu.Unlock()
	fmt.Fprintf(log, "\nkilled replica %d, the primary of view %d, at %.1fs\n", p, v, time.Since(start).Seconds())
}

// reportViews prints the views line of the final report.
func (vw *viewWatch) reportViews(w io.Writer) {
	view, changes, killed, at, in := vw.snapshot()
	fmt.Fprintf(w, "views        final view %d, %d view change(s) seen", view, changes)
	if killed >= 0 {
		fmt.Fprintf(w, "; replica %d (primary of view %d) killed at %.1fs", killed, in, at.Seconds())
	}
	fmt.Fprintln(w)
}
