package simnet

import (
	"reflect"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// shortRun runs a small workload under mild faults and returns the simulation.
func shortRun(t *testing.T, seed uint64) *Sim {
	t.Helper()
	s, err := New(Options{Seed: seed, Factory: factoryA, Clients: 3})
	if err != nil {
		t.Fatal(err)
	}
	s.SetAllLinks(LinkFault{Drop: 0.05, Duplicate: 0.05, Delay: 3})
	for i := range 10 {
		for c := uint64(1); c <= 3; c++ {
			s.Submit(c, [][]byte{client.PutOp([]byte{byte(c)}, []byte{byte(i)})})
		}
	}
	if err := s.RunUntil(s.Idle, 2_000_000); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDeterministic: one seed, one run; another seed, another run.
func TestDeterministic(t *testing.T) {
	a, b, c := shortRun(t, 7), shortRun(t, 7), shortRun(t, 8)
	if a.Now() != b.Now() || a.Stats() != b.Stats() || !reflect.DeepEqual(a.StateDigests(), b.StateDigests()) ||
		!reflect.DeepEqual(a.Results(), b.Results()) {
		t.Fatalf("seed 7 ran twice differently: %+v vs %+v", a.Stats(), b.Stats())
	}
	if a.Stats() == c.Stats() {
		t.Fatalf("seeds 7 and 8 ran identically: %+v", a.Stats())
	}
}

// TestLinkHooks: a link that drops everything delivers nothing; a partition blocks
// messages between groups and counts them.
func TestLinkHooks(t *testing.T) {
	s, err := New(Options{Seed: 1, Factory: factoryA})
	if err != nil {
		t.Fatal(err)
	}
	s.SetAllLinks(LinkFault{Drop: 1})
	s.Submit(1, [][]byte{client.GetOp([]byte("k"))})
	s.RunFor(50)
	if st := s.Stats(); st.Dropped == 0 || len(s.Results()) != 0 {
		t.Fatalf("stats %+v results %d", st, len(s.Results()))
	}
	s.SetAllLinks(LinkFault{})
	s.Partition([]uint64{0, 1}, []uint64{2, 3})
	s.RunFor(50)
	if st := s.Stats(); st.Partitioned == 0 || len(s.Results()) != 0 {
		t.Fatalf("partition: stats %+v results %d", st, len(s.Results()))
	}
	s.Heal()
	if err := s.RunUntil(s.Idle, 1_000_000); err != nil {
		t.Fatal(err)
	}
}

// TestDeliveryHookStarvesOneExec: a broker that withholds every input of its exec
// stalls that exec only; the cluster runs on, and the exec catches up once its
// broker behaves again.
func TestDeliveryHookStarvesOneExec(t *testing.T) {
	s, err := New(Options{Seed: 3, Factory: factoryA, Clients: 2, Setup: smallWindow()})
	if err != nil {
		t.Fatal(err)
	}
	starved := EnclaveID{Role: spec.RoleExec, Replica: 3}
	s.SetDelivery(starved, DeliveryFault{Drop: 1})
	for i := range 30 {
		s.Submit(1+uint64(i%2), [][]byte{client.PutOp([]byte("k"), []byte{byte(i)})})
	}
	if err := s.RunUntil(s.Idle, 2_000_000); err != nil {
		t.Fatal(err)
	}
	if d := s.StateDigests(); d[3].Last != 0 || d[0].Last == 0 {
		t.Fatalf("digests %+v", d)
	}
	s.SetDelivery(starved, DeliveryFault{})
	s.Submit(1, [][]byte{client.GetOp([]byte("k"))})
	converge(t, s)
}

// smallWindow makes checkpoints frequent, so that state transfer happens soon.
func smallWindow() broker.Setup { return broker.Setup{K: 4, L: 8} }

// TestAdversarialBrokers: brokers corrupt messages on every link (3% get a byte
// flipped), and brokers mistreat their compartments: one withholds 10% of its conf's
// inputs, one corrupts some of its prep's, one duplicates, delays and reorders its
// exec's, one delays and reorders its conf's. Compartments reject what does not
// verify; results stay correct and replicas agree.
func TestAdversarialBrokers(t *testing.T) {
	w := newWorkload(71, 6, 100)
	s, err := New(Options{Seed: 71, Factory: factories("mixed"), Clients: 6, OnResult: w.onResult})
	if err != nil {
		t.Fatal(err)
	}
	rng := s.Rand()
	flip := func(_ uint64, body []byte) []byte {
		if len(body) == 0 || rng.IntN(100) >= 3 {
			return nil
		}
		b := append([]byte(nil), body...)
		b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		return b
	}
	s.SetAllLinks(LinkFault{Mutate: flip})
	s.SetDelivery(EnclaveID{Role: spec.RoleConf, Replica: 2}, DeliveryFault{Drop: 0.10})
	s.SetDelivery(EnclaveID{Role: spec.RoleExec, Replica: 0}, DeliveryFault{Duplicate: 0.2, Delay: 0.2, Reorder: true})
	s.SetDelivery(EnclaveID{Role: spec.RoleConf, Replica: 3}, DeliveryFault{Reorder: true, Delay: 0.1})
	s.SetDelivery(EnclaveID{Role: spec.RolePrep, Replica: 1}, DeliveryFault{Mutate: func(k uint64, b []byte) []byte {
		if rng.IntN(100) >= 50 {
			return nil
		}
		return flip(k, b) // 50% × 3%
	}})
	w.start(s)
	if err := s.RunUntil(func() bool { return w.done(s) || len(w.errs) > 0 }, 20_000_000); err != nil {
		t.Fatal(err)
	}
	if len(w.errs) > 0 {
		t.Fatalf("seed=%d: %v", s.Seed(), w.errs)
	}
	if s.Stats().Mutated == 0 {
		t.Fatal("nothing was mutated: the test is vacuous")
	}
	w.stopped = true
	s.SetAllLinks(LinkFault{})
	s.SetDelivery(EnclaveID{Role: spec.RoleConf, Replica: 2}, DeliveryFault{})
	s.SetDelivery(EnclaveID{Role: spec.RolePrep, Replica: 1}, DeliveryFault{})
	s.SetDelivery(EnclaveID{Role: spec.RoleExec, Replica: 0}, DeliveryFault{})
	s.SetDelivery(EnclaveID{Role: spec.RoleConf, Replica: 3}, DeliveryFault{})
	checkCounter(t, s, w.casOK)
	converge(t, s)
	logRun(t, s)
}
