package prepa

import (
	"maps"
	"sync"
	"testing"

	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// clone returns an independent copy of a prep for the fuzz target, which must start
// every execution from the same configured state cheaply. Immutable parts (cfg, key,
// stored view-changes) are shared; every map is copied. Keep it in step with Prep.
func (p *Prep) clone() *Prep {
	q := *p
	q.accepted = maps.Clone(p.accepted)
	q.vcs = maps.Clone(p.vcs)
	q.cp = p.cp.Clone()
	q.out = agreea.Outbox{}
	return &q
}

var (
	fuzzOnce  [4]sync.Once
	fuzzBases [4]*harness
)

// fuzzHarness returns a fresh configured prep of replica sel%4 that already holds a
// proposal or a prepare, a checkpoint and a view-change, so that fuzzed inputs reach
// the duplicate, conflict and view-change paths. The state is built once per id and
// cloned for every call.
func fuzzHarness(t testing.TB, sel uint8) *harness {
	id := uint64(sel % 4)
	fuzzOnce[id].Do(func() {
		h := newHarness(t, id, defaultOpts(70))
		b := h.batch(1)
		if id == 0 {
			h.proposeAsPrimary(b)
		} else {
			h.prepareAsBackup(0, 1, b)
		}
		h.Accept(h.checkpoint(2, state(2), 3))
		if id != 1 {
			h.Accept(vcIn(h.c.ViewChange(1, 3, genesis())))
		}
		fuzzBases[id] = h
	})
	base := fuzzBases[id]
	return wrap(t, base.seed, base.p.clone(), base.c)
}

// TestClone: a clone has the same state and diverges independently.
func TestClone(t *testing.T) {
	h := fuzzHarness(t, 2)
	g := fuzzHarness(t, 2)
	if h.State() != g.State() {
		t.Fatal("clones differ")
	}
	g.Accept(g.checkpoint(2, state(2), 0))
	g.Accept(g.checkpoint(4, state(4), 0))
	g.prepareAsBackup(0, 2, g.batch(2))
	if h.State() == g.State() || h.State() != fuzzHarness(t, 2).State() {
		t.Fatal("clones share state")
	}
}

// fuzzSeeds returns valid inputs of every kind prep accepts.
func fuzzSeeds(h *harness) []spec.Input {
	c := h.c
	b := h.batch(2)
	vcs := h.nvScenario([3]uint64{0, 1, 3}, [3]uint64{0, 1, 3})
	o, _ := c.ComputeO(5, vcs)
	return []spec.Input{
		c.Configure(),
		fixture.In(spec.KindClientBatch, &b),
		fixture.In(spec.KindProposal, ptr(c.Proposal(0, 2, b))),
		h.checkpoint(2, state(2), 0),
		vcIn(c.ViewChange(1, 0, genesis(), h.cert(0, 1, dg(1)))),
		nvIn(c.NewView(5, vcs, o)),
	}
}

// FuzzStep: arbitrary inputs (one fuzzed Input, and arbitrary raw StepInput bytes)
// never panic a configured prep, the output always ends with one status, and a step
// in which every input was rejected as a whole leaves the state unchanged.
func FuzzStep(f *testing.F) {
	h := fuzzHarness(f, 2)
	for _, in := range fuzzSeeds(h) {
		f.Add(uint8(2), in.Kind, in.Body, fixture.StepBytes(in))
	}
	f.Add(uint8(0), spec.KindClientBatch, spec.Encode(ptr(h.batch(3))), []byte{0x80})
	f.Fuzz(func(t *testing.T, sel uint8, kind uint64, body []byte, raw []byte) {
		h := fuzzHarness(t, sel)
		steps := [][]byte{fixture.StepBytes(spec.Input{Kind: kind, Body: body}), raw}
		for _, in := range steps {
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
