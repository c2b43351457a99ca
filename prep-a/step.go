package prepa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// verdict is a handler's answer for one input (agreea.Verdict): Code 0 accepts it;
// otherwise Code is the reject code of the first rule it failed and Sub the 1-based
// index of the offending request in a batch, or 0.
type verdict = agreea.Verdict

// accept is the verdict of an accepted input.
var accept = agreea.Accept

// fail returns the verdict of an input rejected with code.
func fail(code uint64) verdict { return agreea.Fail(code) }

// Step handles one encoded StepInput (SPEC.md §7.4): each input in order, completely,
// then exactly one Status. A StepInput that does not decode, or has more than 4096
// inputs, yields one malformed Rejection (Index 0, Kind 0) and the Status.
func (p *Prep) Step(in []byte) []byte {
	return agreea.Step(in, &p.out, p.dispatch, p.status)
}

// accepts reports whether kind is an input of Preparation (§9.1).
func accepts(kind uint64) bool {
	switch kind {
	case spec.KindConfigure, spec.KindClientBatch, spec.KindProposal,
		spec.KindCheckpoint, spec.KindViewChange, spec.KindNewView, spec.KindEpochChange:
		return true
	}
	return false
}

// dispatch applies the input preamble A1–A4 (§8.1) and hands the decoded body to its
// handler; idx is the input's index in its StepInput.
func (p *Prep) dispatch(idx uint64, in *spec.Input) verdict {
	if p.retired {
		return fail(spec.CodeRetired) // §8.1: a retired compartment accepts nothing (§17.4)
	}
	body, v := agreea.Preamble(in, accepts, p.configured)
	if v.Code != 0 {
		return v
	}
	switch m := body.(type) {
	case *spec.Configure:
		return p.onConfigure(m)
	case *spec.Batch:
		return p.onClientBatch(idx, m)
	case *spec.Proposal:
		return p.onProposal(m)
	case *spec.Checkpoint:
		return p.onCheckpoint(m)
	case *spec.ViewChange:
		return p.onViewChange(in.Body, m)
	case *spec.NewView:
		return p.onNewView(m)
	case *spec.EpochChange:
		return p.onEpochChange(m)
	}
	panic("prepa: accepted kind without a handler")
}

// broadcast appends an output of kind to the given roles of every replica.
func (p *Prep) broadcast(kind, roles uint64, body []byte) {
	p.out.Broadcast(kind, roles, p.n(), body)
}
