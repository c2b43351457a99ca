package simnet

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

var quick = flag.Bool("simnet.quick", false, "run the memory test with 20,000 requests instead of 100,000")

// storeSizer is implemented by exec: the sizes of its bounded stores.
type storeSizer interface {
	StoreSizes() (batches, commits, committed, snapshots, checkpoints int)
}

// sample is one measurement of every bounded store in the cluster.
type sample struct {
	requests  int
	lines     [3]int // max DebugState lines per role over replicas
	exec      [5]int // max exec StoreSizes over replicas
	pending   int    // max broker Sizes over replicas …
	batchQ    int
	cache     int
	ring      int
	inputs    int // queued and held by the gate
	gateSlots int // per compartment
	heapAlloc uint64
}

func measure(s *Sim) sample {
	m := sample{requests: s.Completed()}
	for r := range s.N() {
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			m.lines[role] = max(m.lines[role], strings.Count(s.DebugState(EnclaveID{Role: role, Replica: r}), "\n"))
		}
		if ss, ok := s.Compartment(EnclaveID{Role: spec.RoleExec, Replica: r}).(storeSizer); ok {
			b, c, cd, sn, cp := ss.StoreSizes()
			for i, v := range []int{b, c, cd, sn, cp} {
				m.exec[i] = max(m.exec[i], v)
			}
		}
		z := s.Replica(r).Sizes()
		m.pending, m.batchQ = max(m.pending, z.Pending), max(m.batchQ, z.BatchQueue)
		m.cache, m.ring = max(m.cache, z.BatchCache), max(m.ring, z.Ring)
		m.inputs = max(m.inputs, z.Inputs[0]+z.Inputs[1]+z.Inputs[2]+z.Gated[0]+z.Gated[1]+z.Gated[2])
		m.gateSlots = max(m.gateSlots, z.GateSlots[0], z.GateSlots[1], z.GateSlots[2])
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heapAlloc = ms.HeapAlloc
	return m
}

// TestMemoryBounded is scenario (d): a long run (100,000 requests; 20,000 with
// -simnet.quick; 4,000 with -short) in which every compartment store, every broker store
// and the heap stay bounded: garbage collection at stable checkpoints keeps them
// independent of the number of requests executed.
func TestMemoryBounded(t *testing.T) {
	total := 100_000
	switch {
	case *quick:
		total = 20_000
	case testing.Short():
		total = 4_000
	}
	const clients = 16
	per := total / clients
	sent := make([]int, clients+1)
	submit := func(s *Sim, c uint64) {
		i := sent[c]
		sent[c]++
		key := []byte(fmt.Sprintf("c%d/k%d", c, i%8))
		if i%2 == 0 {
			s.Submit(c, [][]byte{client.PutOp(key, []byte(fmt.Sprintf("value-%d", i)))})
		} else {
			s.Submit(c, [][]byte{client.GetOp(key)})
		}
	}
	s, err := New(Options{Seed: 61, Factory: factories("mixed"), Clients: clients, DiscardResults: true,
		OnResult: func(s *Sim, r Result) {
			if sent[r.Client] < per {
				submit(s, r.Client)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for c := uint64(1); c <= clients; c++ {
		submit(s, c)
	}
	var samples []sample
	for phase := 1; phase <= 10; phase++ {
		goal := total * phase / 10
		if err := s.RunUntil(func() bool { return s.Completed() >= goal }, 50_000_000); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, measure(s))
	}
	checkBounds(t, s, samples)
	converge(t, s)
}

// checkBounds asserts absolute bounds from the configuration, and that the last
// sample is no larger than the early ones allow (no growth with requests).
func checkBounds(t *testing.T, s *Sim, samples []sample) {
	t.Helper()
	cfg := s.Config()
	n, L, K := int(cfg.N), int(cfg.Window), int(cfg.CheckpointInterval)
	early, last := samples[1], samples[len(samples)-1]
	t.Logf("seed=%d early %+v", s.Seed(), early)
	t.Logf("seed=%d last  %+v", s.Seed(), last)
	limits := []struct {
		name      string
		got, want int
	}{
		{"exec batches", last.exec[0], 2 * L},
		{"exec commits", last.exec[1], n * L},
		{"exec committed", last.exec[2], L},
		{"exec snapshots", last.exec[3], L/K + 1},
		{"exec checkpoints", last.exec[4], n * (L/K + 2)},
		{"broker pending", last.pending, s.Clients()},
		{"broker batch queue", last.batchQ, s.Clients()},
		{"broker batch cache", last.cache, 2 * L},
		{"broker ring", last.ring, 4 * L},
		{"broker inputs", last.inputs, 4096},
		{"broker gate slots per compartment", last.gateSlots, 2 * L},
	}
	for role := range 3 {
		limits = append(limits, struct {
			name      string
			got, want int
		}{spec.RoleName(spec.Role(role)) + " state lines", last.lines[role], 2*early.lines[role] + 100})
	}
	for _, l := range limits {
		if l.got > l.want {
			t.Errorf("seed=%d: %s = %d after %d requests, bound %d", s.Seed(), l.name, l.got, last.requests, l.want)
		}
	}
	if last.heapAlloc > 2*early.heapAlloc+16<<20 {
		t.Errorf("seed=%d: heap grew from %d to %d bytes between %d and %d requests",
			s.Seed(), early.heapAlloc, last.heapAlloc, early.requests, last.requests)
	}
}
