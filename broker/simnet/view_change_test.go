package simnet

import (
	"strconv"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// TestPrimaryIsolated: the primary is cut off from the other replicas mid-run. The
// clients' retransmissions reach the backups, whose request timers expire; they
// change view and continue without it. After the partition heals, the old primary
// catches up, and every replica agrees.
func TestPrimaryIsolated(t *testing.T) { isolate(t, 41, 0, 0) }

// TestChaosSweep isolates a random replica at a time, repeatedly, on a lossy network,
// for -simnet.sweep seeds (none by default): a tool for hunting liveness bugs.
func TestChaosSweep(t *testing.T) {
	if *sweep == 0 {
		t.Skip("enable with -simnet.sweep=N")
	}
	first := uint64(2000)
	if *sweepFrom != 0 {
		first = *sweepFrom
	}
	for seed := first; seed < first+uint64(*sweep); seed++ {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) { isolate(t, seed, seed%4, 0.05) })
	}
}

// isolate runs a workload, cuts replica victim off from the others until the rest
// made progress without it (changing view if it was the primary), heals, and checks.
func isolate(t *testing.T, seed, victim uint64, drop float64) {
	w := newWorkload(seed, 6, 120)
	s, err := New(Options{Seed: seed, Factory: factories("mixed"), Clients: 6, OnResult: w.onResult,
		Broker: brokerOpts()})
	if err != nil {
		t.Fatal(err)
	}
	s.SetAllLinks(LinkFault{Drop: drop, Delay: 2})
	w.start(s)
	s.RunFor(300)
	var rest []uint64
	for i := range s.N() {
		if i != victim {
			rest = append(rest, i)
		}
	}
	s.Partition(rest)
	isolatedAt := len(s.Results())
	if err := s.RunUntil(func() bool { return len(s.Results()) > isolatedAt+50 || len(w.errs) > 0 }, 300_000); err != nil {
		t.Fatalf("no progress without replica %d: %v\n%s", victim, err, describe(s))
	}
	for _, i := range rest {
		if v := s.Replica(i).Status()[spec.RoleConf].View; v == 0 && victim == 0 {
			t.Fatalf("seed=%d: replica %d still in view 0", s.Seed(), i)
		}
	}
	s.Heal()
	s.SetAllLinks(LinkFault{})
	if err := s.RunUntil(func() bool { return w.done(s) || len(w.errs) > 0 }, 2_000_000); err != nil {
		t.Fatalf("%v\n%s", err, describe(s))
	}
	if len(w.errs) > 0 {
		t.Fatalf("seed=%d: %v", s.Seed(), w.errs)
	}
	w.stopped = true
	checkCounter(t, s, w.casOK)
	converge(t, s)
	logRun(t, s)
}

// brokerOpts are broker options with short timers, so that view changes happen
// within a short simulation.
func brokerOpts() broker.Options {
	return broker.Options{RequestTimeoutTicks: 60, RetransmitTicks: 15}
}
