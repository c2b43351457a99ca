package operator

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Health is an operator's verdict on a cluster from its replicas' /status documents
// (FetchStatus). Nothing in it is trusted: it is what the hosts say, for humans,
// scripts and monitors (`splitbft status` exits with ExitCode).
type Health struct {
	N, F     uint64
	View     uint64 // the current view: the view most running replicas' conf is in (ties: the higher)
	Primary  uint64 // primary of View
	Config   string // the configuration digest most running replicas formed (hex)
	Epoch    uint64 // the epoch of the replicas serving Config (SPEC §17)
	Replicas []ReplicaHealth
	Healthy  int  // replicas that are Healthy
	Quorum   bool // Healthy ≥ 2f+1: the cluster can make progress
}

// ReplicaHealth is one replica's part of Health.
type ReplicaHealth struct {
	Replica uint64
	Healthy bool   // reachable, running, all compartments alive, the common configuration, in View
	InView  bool   // prep and conf are in View and not changing view
	Problem string // why it is not healthy ("" when it is): "unreachable", "exec dead", ...
	Warning string // what needs attention on a replica that may still be healthy ("" none)
}

// Exit codes of Health.ExitCode.
const (
	ExitHealthy  = 0 // every replica healthy
	ExitDegraded = 1 // some replica or compartment unhealthy, a quorum healthy
	ExitNoQuorum = 2 // fewer than 2f+1 healthy replicas
)

// ExitCode is ExitHealthy, ExitDegraded or ExitNoQuorum.
func (h *Health) ExitCode() int {
	switch {
	case !h.Quorum:
		return ExitNoQuorum
	case uint64(h.Healthy) < h.N:
		return ExitDegraded
	}
	return ExitHealthy
}

// AssessHealth judges the cluster of template t from the results of FetchStatus.
func AssessHealth(t *Template, results []StatusResult) *Health {
	h := &Health{N: t.N, F: t.F}
	h.Config = majority(results, func(st *ReplicaStatus) (string, bool) { return st.ConfigDigest, st.ConfigDigest != "" })
	view := majority(results, func(st *ReplicaStatus) (string, bool) {
		_, c, ok := viewsOf(st)
		return fmt.Sprintf("%020d", c), ok
	})
	fmt.Sscan(view, &h.View)
	for _, r := range results {
		if r.Status != nil && r.Status.ConfigDigest == h.Config {
			h.Epoch = r.Status.Epoch
		}
	}
	h.Primary = h.View % t.N
	for _, r := range results {
		rh := h.judge(r)
		h.Replicas = append(h.Replicas, rh)
		if rh.Healthy {
			h.Healthy++
		}
	}
	h.Quorum = uint64(h.Healthy) >= 2*t.F+1
	return h
}

// judge returns one replica's health against the common configuration and view.
func (h *Health) judge(r StatusResult) ReplicaHealth {
	rh := ReplicaHealth{Replica: r.Replica}
	st := r.Status
	if st != nil {
		p, c, _ := viewsOf(st)
		rh.InView = p == h.View && c == h.View && activeViews(st)
	}
	switch {
	case r.Err != nil:
		rh.Problem = "unreachable"
	case st.Phase != PhaseRunning:
		rh.Problem = st.Phase
	case deadRoles(st) != "":
		rh.Problem = deadRoles(st) + " dead"
	case st.ConfigDigest != h.Config && st.Epoch != h.Epoch:
		rh.Problem = fmt.Sprintf("in epoch %d, the others in epoch %d", st.Epoch, h.Epoch)
	case st.ConfigDigest != h.Config:
		rh.Problem = "formed another configuration"
	case st.Error != "":
		rh.Problem = "error: " + oneLine(st.Error)
	case st.Ledger != nil && st.Ledger.Error != "":
		rh.Problem = "ledger stopped, replies held: " + oneLine(st.Ledger.Error)
	case !rh.InView:
		rh.Problem = "not in the current view"
	default:
		rh.Healthy = true
	}
	if st != nil {
		rh.Warning = st.Ledger.DiskWarning()
	}
	return rh
}

// viewsOf returns the prep's and the conf's view of a running replica.
func viewsOf(st *ReplicaStatus) (prep, conf uint64, ok bool) {
	if st.Phase != PhaseRunning || len(st.Compartments) != 3 {
		return 0, 0, false
	}
	return st.Compartments[0].View, st.Compartments[1].View, true
}

// activeViews reports whether prep and conf are not changing view.
func activeViews(st *ReplicaStatus) bool {
	return len(st.Compartments) == 3 && st.Compartments[0].ViewActive && st.Compartments[1].ViewActive
}

// deadRoles lists the replica's dead compartments ("prep, exec"), or "".
func deadRoles(st *ReplicaStatus) string {
	var dead []string
	for _, c := range st.Compartments {
		if !c.Alive {
			dead = append(dead, c.Role)
		}
	}
	return strings.Join(dead, ", ")
}

// majority returns the value key gives most reachable replicas (ties: the greatest).
func majority(results []StatusResult, key func(*ReplicaStatus) (string, bool)) string {
	count := map[string]int{}
	for _, r := range results {
		if r.Status != nil {
			if k, ok := key(r.Status); ok {
				count[k]++
			}
		}
	}
	best, n := "", 0
	for _, k := range slices.Sorted(maps.Keys(count)) {
		if count[k] >= n {
			best, n = k, count[k]
		}
	}
	return best
}

// Summary is the one-line verdict `splitbft status` prints.
func (h *Health) Summary() string {
	verdict := "healthy"
	switch h.ExitCode() {
	case ExitDegraded:
		verdict = "DEGRADED"
	case ExitNoQuorum:
		verdict = "NO QUORUM"
	}
	epoch := ""
	if h.Epoch > 0 { // SPEC §17: shown once the cluster left its first configuration
		epoch = fmt.Sprintf("epoch %d, ", h.Epoch)
	}
	s := fmt.Sprintf("%s: %sview %d, primary %d; %d of %d replicas healthy, a quorum needs 2f+1 = %d", verdict, epoch, h.View, h.Primary, h.Healthy, h.N, 2*h.F+1)
	if p := h.Problems(); p != "" {
		s += "; " + p
	}
	for _, r := range h.Replicas {
		if r.Warning != "" {
			s += fmt.Sprintf("; warning: replica %d %s", r.Replica, r.Warning)
		}
	}
	return s
}

// Problems groups the unhealthy replicas by problem: "replicas 1, 2 unreachable;
// replica 3 exec dead".
func (h *Health) Problems() string {
	var order []string
	by := map[string][]string{}
	for _, r := range h.Replicas {
		if r.Healthy {
			continue
		}
		if _, ok := by[r.Problem]; !ok {
			order = append(order, r.Problem)
		}
		by[r.Problem] = append(by[r.Problem], fmt.Sprint(r.Replica))
	}
	var parts []string
	for _, p := range order {
		ids := by[p]
		noun := "replica"
		if len(ids) > 1 {
			noun = "replicas"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", noun, strings.Join(ids, ", "), p))
	}
	return strings.Join(parts, "; ")
}

// TimeoutError is a request that timed out, with the cluster's health at that moment.
type TimeoutError struct {
	Health  *Health
	Timeout time.Duration
	Err     error // the client's error (client.ErrTimeout)
}

// Error says "no quorum: replicas 1, 2 unreachable" when the cluster has no quorum,
// and otherwise that the cluster looks able to make progress.
func (e *TimeoutError) Error() string {
	h := e.Health
	if !h.Quorum {
		return fmt.Sprintf("no quorum: %s (%d of %d replicas healthy, 2f+1 = %d needed; gave up after %s)",
			h.Problems(), h.Healthy, h.N, 2*h.F+1, e.Timeout)
	}
	return fmt.Sprintf("%v; yet %d of %d replicas look healthy (view %d, primary %d): a view change may be under way, try again", e.Err, h.Healthy, h.N, h.View, h.Primary)
}

// Unwrap returns the client's error.
func (e *TimeoutError) Unwrap() error { return e.Err }

func (h *Health) explainTimeout(err error, timeout time.Duration) error {
	return &TimeoutError{Health: h, Timeout: timeout, Err: err}
}
