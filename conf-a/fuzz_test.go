package confa

import (
	"maps"
	"sync"
	"testing"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// clone returns an independent copy of a conf for the fuzz target, which must start
// every execution from the same configured state cheaply. Immutable parts (cfg, key,
// stored messages and certificates) are shared; every map and slot is copied. Keep it
// in step with Conf.
func (c *Conf) clone() *Conf {
	d := *c
	d.pset = maps.Clone(c.pset)
	d.slots = map[uint64]*slot{}
	for s, sl := range c.slots {
		cp := *sl
		cp.prepares = maps.Clone(sl.prepares)
		d.slots[s] = &cp
	}
	d.cp = c.cp.Clone()
	d.out = agreea.Outbox{}
	return &d
}

var (
	fuzzOnce  [8]sync.Once
	fuzzBases [8]*harness
)

// fuzzHarness returns a fresh conf of replica sel%4 holding a committed slot, a
// partial slot and a checkpoint; if sel&4, it has also suspected view 0 (so it is
// view-changing in view 1). The state is built once per variant and cloned.
func fuzzHarness(t testing.TB, sel uint8) *harness {
	k := sel % 8
	fuzzOnce[k].Do(func() {
		h := newHarness(t, uint64(k%4), defaultOpts(70))
		var rs []uint64 // backups of view 0 other than this replica
		for r := uint64(1); r < 4; r++ {
			if r != h.id() {
				rs = append(rs, r)
			}
		}
		h.prepared(0, 1, dg(1), rs...)
		h.prepared(0, 2, dg(2), rs[0])
		h.Accept(h.checkpoint(2, state(2), 3))
		if k&4 != 0 {
			h.Accept(suspectIn(0))
		}
		fuzzBases[k] = h
	})
	base := fuzzBases[k]
	return wrap(t, base.seed, base.p.clone(), base.c)
}

// TestClone: a clone has the same state and diverges independently.
func TestClone(t *testing.T) {
	h, g := fuzzHarness(t, 1), fuzzHarness(t, 1)
	if h.State() != g.State() {
		t.Fatal("clones differ")
	}
	g.Accept(prIn(g.c.Prepare(0, 2, dg(2), 3))) // completes slot 2: a commit
	g.Accept(g.checkpoint(4, state(4), 0))
	if h.State() == g.State() || h.State() != fuzzHarness(t, 1).State() {
		t.Fatal("clones share state")
	}
}

// FuzzStep: arbitrary inputs (one fuzzed Input, and arbitrary raw StepInput bytes)
// never panic a configured conf, the output always ends with one status, and a step
// in which every input was rejected as a whole leaves the state unchanged.
func FuzzStep(f *testing.F) {
	h := fuzzHarness(f, 2)
	c := h.c
	vcs, o := h.nvScenario(1)
	seeds := []spec.Input{
		c.Configure(), ppIn(c.PrePrepare(0, 3, dg(3))), prIn(c.Prepare(0, 2, dg(2), 3)),
		h.checkpoint(2, state(2), 0), suspectIn(0), nvIn(c.NewView(1, vcs, o)),
	}
	for _, in := range seeds {
		f.Add(uint8(2), in.Kind, in.Body, fixture.StepBytes(in))
		f.Add(uint8(6), in.Kind, in.Body, fixture.StepBytes(in, in))
	}
	f.Fuzz(func(t *testing.T, sel uint8, kind uint64, body []byte, raw []byte) {
		h := fuzzHarness(t, sel)
		for _, in := range [][]byte{fixture.StepBytes(spec.Input{Kind: kind, Body: body}), raw} {
			before := h.State()
			out, _, err := fixture.DecodeOutput(h.p.Step(in))
			if err != nil {
				t.Fatalf("bad output: %v", err)
			}
			var si spec.StepInput
			n := 0
			if spec.Decode(in, &si, spec.MaxMessageBytes) == nil {
				n = len(si.Inputs)
			}
			if n > 0 && fixture.WholeInputsRejected(out.Outputs, n) && h.State() != before {
				t.Fatalf("every input rejected but state changed:\n%s\n%s", before, h.State())
			}
		}
	})
}
