package simnet

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// runWorkload runs a workload to completion on a new simulation and checks results,
// the shared counter, agreement and that every replica converges to the same state.
func runWorkload(t *testing.T, opt Options, perOps int, faults func(s *Sim)) *Sim {
	t.Helper()
	w := newWorkload(opt.Seed, opt.Clients, perOps)
	opt.OnResult = w.onResult
	s, err := New(opt)
	if err != nil {
		t.Fatalf("seed=%d: %v", opt.Seed, err)
	}
	if faults != nil {
		faults(s)
	}
	w.start(s)
	if err := s.RunUntil(func() bool { return w.done(s) || len(w.errs) > 0 }, 20_000_000); err != nil {
		t.Fatalf("%v (pending %d)", err, s.Pending())
	}
	if len(w.errs) > 0 {
		t.Fatalf("seed=%d: wrong results: %v", opt.Seed, w.errs)
	}
	w.stopped = true
	s.SetAllLinks(LinkFault{})
	s.SetClientLinks(LinkFault{})
	checkCounter(t, s, w.casOK)
	converge(t, s)
	return s
}

// checkCounter reads the shared counter and compares it with the successful CASes.
func checkCounter(t *testing.T, s *Sim, casOK int) {
	t.Helper()
	before := len(s.Results())
	s.Submit(1, [][]byte{client.GetOp(counterKey)})
	if err := s.RunUntil(func() bool { return len(s.Results()) > before }, 1_000_000); err != nil {
		t.Fatal(err)
	}
	res := s.Results()[len(s.Results())-1].Results[0]
	got := 0
	if res.Status == spec.StatusOK {
		got, _ = strconv.Atoi(string(res.Value))
	}
	if got != casOK || casOK == 0 {
		t.Fatalf("seed=%d: counter %d (status %d), successful CAS %d", s.Seed(), got, res.Status, casOK)
	}
}

// converge runs until every replica's exec has executed the same sequence number and
// holds the same stable checkpoint, then checks agreement and equal states.
func converge(t *testing.T, s *Sim, faulty ...uint64) {
	t.Helper()
	same := func() bool {
		d := s.StateDigests()
		for _, x := range d[1:] {
			if x.Last != d[0].Last || x.Stable != d[0].Stable || x.App != d[0].App {
				return false
			}
		}
		return true
	}
	if err := s.RunUntil(same, 300_000); err != nil {
		t.Fatalf("%v: replicas do not converge:\n%s", err, describe(s))
	}
	if err := s.CheckAgreement(faulty...); err != nil {
		t.Fatal(err)
	}
	d := s.StateDigests()
	if d[0].Stable == 0 || d[0].StableState == (spec.Digest{}) {
		t.Fatalf("seed=%d: no stable checkpoint: %+v", s.Seed(), d)
	}
	for _, x := range d {
		if x.StableState != d[0].StableState && !slices.Contains(faulty, x.Replica) {
			t.Fatalf("seed=%d: stable checkpoint digests differ: %+v", s.Seed(), d)
		}
	}
}

// TestClusterAgreement is scenario (a): 4 replicas, 8 clients × 300 operations, all on
// the a implementations and on the fixed matrix (a,a), (a,b), (b,a), (b,b) ("mixed").
func TestClusterAgreement(t *testing.T) {
	for _, mix := range []string{"aaa", "mixed"} {
		t.Run(mix, func(t *testing.T) {
			s := runWorkload(t, Options{Seed: 11, Factory: factories(mix), Clients: 8}, 300, nil)
			logRun(t, s)
		})
	}
}

// TestClusterUnreliableNetwork is scenario (b): every link drops 10%, duplicates 5%
// and delays up to 6 extra ticks (reordering); client links drop 5%. Each replica's
// (prep, conf) implementations are drawn from the seed.
func TestClusterUnreliableNetwork(t *testing.T) {
	for _, seed := range []uint64{21, 22, 23} {
		factory, impls := mixFactory("drawn", seed, 4)
		t.Run("seed="+strconv.FormatUint(seed, 10)+"/"+impls, func(t *testing.T) {
			s := runWorkload(t, Options{Seed: seed, Factory: factory, Clients: 8}, 150, func(s *Sim) {
				s.SetAllLinks(LinkFault{Drop: 0.10, Duplicate: 0.05, Delay: 6})
				s.SetClientLinks(LinkFault{Drop: 0.05, Duplicate: 0.05, Delay: 2})
			})
			if st := s.Stats(); st.Dropped == 0 || st.Duplicated == 0 {
				t.Fatalf("no faults injected: %+v", st)
			}
			logRun(t, s)
		})
	}
}

// describe renders every replica's statuses and broker counters, for failures.
func describe(s *Sim) string {
	var b strings.Builder
	for i := range s.N() {
		st := s.Replica(i).Status()
		m := s.Replica(i).Metrics()
		fmt.Fprintf(&b, "r%d prep v=%d last=%d h=%d | conf v=%d active=%v last=%d h=%d | exec last=%d h=%d needState=%v needBatch=%d | %+v | app=%.8s\n",
			i, st[0].View, st[0].Last, st[0].Stable, st[1].View, st[1].ViewActive, st[1].Last, st[1].Stable,
			st[2].Last, st[2].Stable, st[2].NeedState, len(st[2].NeedBatch), m, s.StateDigests()[i].App)
	}
	return b.String()
}

func logRun(t *testing.T, s *Sim) {
	t.Logf("seed=%d time=%d stats=%+v", s.Seed(), s.Now(), s.Stats())
	for i := range s.N() {
		m := s.Replica(i).Metrics()
		t.Logf("replica %d: steps=%v batches=%d requests=%d suspects=%d fetches=%d state=%d retransmits=%d drops=%d rejections=%v",
			i, m.Steps, m.Batches, m.Requests, m.Suspects, m.BatchFetches, m.StateRequests, m.Retransmits, m.QueueDrops, m.Rejections)
	}
}

var (
	sweep     = flag.Int("simnet.sweep", 0, "run the sweep tests for this many seeds")
	sweepFrom = flag.Uint64("simnet.from", 0, "first seed of the sweep tests")
)

// TestUnreliableSweep runs scenario (b) for -simnet.sweep further seeds (none by
// default): a tool for hunting liveness bugs.
func TestUnreliableSweep(t *testing.T) {
	if *sweep == 0 {
		t.Skip("enable with -simnet.sweep=N")
	}
	for seed := uint64(1000); seed < 1000+uint64(*sweep); seed++ {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			runWorkload(t, Options{Seed: seed, Factory: factories("mixed"), Clients: 6}, 60, func(s *Sim) {
				s.SetAllLinks(LinkFault{Drop: 0.15, Duplicate: 0.05, Delay: 8})
				s.SetClientLinks(LinkFault{Drop: 0.05, Duplicate: 0.05, Delay: 2})
			})
		})
	}
}
