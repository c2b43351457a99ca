package prepa

import "github.com/splitbft/splitbft/spec"

// verdict is a handler's answer for one input: code 0 accepts it; otherwise code is
// the reject code of the first rule it failed and sub the 1-based index of the
// offending request in a batch, or 0.
type verdict struct{ code, sub uint64 }

// accept is the verdict of an accepted input.
var accept = verdict{}

// fail returns the verdict of an input rejected with code.
func fail(code uint64) verdict { return verdict{code: code} }

// Step handles one encoded StepInput (SPEC.md §7.4): each input in order, completely,
// then exactly one Status. A StepInput that does not decode, or has more than 4096
// inputs, yields one malformed Rejection (Index 0, Kind 0) and the Status.
func (p *Prep) Step(in []byte) []byte {
	p.out = nil
	var si spec.StepInput
	if err := spec.Decode(in, &si, spec.MaxMessageBytes); err != nil || len(si.Inputs) > spec.MaxStepInputs {
		p.rejectInput(0, 0, fail(spec.CodeMalformed))
	} else {
		for i := range si.Inputs {
			if v := p.dispatch(uint64(i), &si.Inputs[i]); v.code != 0 {
				p.rejectInput(uint64(i), si.Inputs[i].Kind, v)
			}
		}
	}
	p.out = append(p.out, spec.Output{Kind: spec.KindStatus, Body: spec.Encode(p.status())})
	out := spec.Encode(&spec.StepOutput{Outputs: p.out})
	p.out = nil
	return out
}

// accepts reports whether kind is an input of Preparation (§9.1).
func accepts(kind uint64) bool {
	switch kind {
	case spec.KindConfigure, spec.KindClientBatch, spec.KindProposal,
		spec.KindCheckpoint, spec.KindViewChange, spec.KindNewView:
		return true
	}
	return false
}

// dispatch applies the input preamble A1–A4 (§8.1) and hands the decoded body to its
// handler.
func (p *Prep) dispatch(idx uint64, in *spec.Input) verdict {
	switch {
	case !accepts(in.Kind):
		return fail(spec.CodeUnknownKind)
	case !p.configured && in.Kind != spec.KindConfigure:
		return fail(spec.CodeNotConfigured)
	case p.configured && in.Kind == spec.KindConfigure:
		return fail(spec.CodeConfigured)
	}
	body, err := spec.DecodeKind(in.Kind, in.Body)
	if err != nil {
		return fail(spec.CodeMalformed)
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
	}
	panic("prepa: accepted kind without a handler")
}

// rejectInput appends the Rejection of input idx.
func (p *Prep) rejectInput(idx, kind uint64, v verdict) {
	r := spec.Rejection{Index: idx, Kind: kind, Code: v.code, Sub: v.sub}
	p.out = append(p.out, spec.Output{Kind: spec.KindReject, Body: spec.Encode(&r)})
}

// broadcast appends an output of kind to the given roles of every replica.
func (p *Prep) broadcast(kind, roles uint64, body []byte) {
	all := make([]uint64, p.n())
	for i := range all {
		all[i] = uint64(i)
	}
	p.out = append(p.out, spec.Output{Kind: kind, To: spec.Destination{Roles: roles, Replicas: all}, Body: body})
}
