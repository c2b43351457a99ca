package confa

import "github.com/splitbft/splitbft/spec"

// verdict is a handler's answer for one input: code 0 accepts it; otherwise code is
// the reject code of the first rule it failed (sub is always 0 in this compartment).
type verdict struct{ code, sub uint64 }

// accept is the verdict of an accepted input.
var accept = verdict{}

// fail returns the verdict of an input rejected with code.
func fail(code uint64) verdict { return verdict{code: code} }

// Step handles one encoded StepInput (SPEC.md §7.4): each input in order, completely,
// then exactly one Status. A StepInput that does not decode, or has more than 4096
// inputs, yields one malformed Rejection (Index 0, Kind 0) and the Status.
func (c *Conf) Step(in []byte) []byte {
	c.out = nil
	var si spec.StepInput
	if err := spec.Decode(in, &si, spec.MaxMessageBytes); err != nil || len(si.Inputs) > spec.MaxStepInputs {
		c.rejectInput(0, 0, fail(spec.CodeMalformed))
	} else {
		for i := range si.Inputs {
			if v := c.dispatch(&si.Inputs[i]); v.code != 0 {
				c.rejectInput(uint64(i), si.Inputs[i].Kind, v)
			}
		}
	}
	c.out = append(c.out, spec.Output{Kind: spec.KindStatus, Body: spec.Encode(c.status())})
	out := spec.Encode(&spec.StepOutput{Outputs: c.out})
	c.out = nil
	return out
}

// accepts reports whether kind is an input of Confirmation (§10.1).
func accepts(kind uint64) bool {
	switch kind {
	case spec.KindConfigure, spec.KindPrePrepare, spec.KindPrepare,
		spec.KindCheckpoint, spec.KindSuspect, spec.KindNewView:
		return true
	}
	return false
}

// dispatch applies the input preamble A1–A4 (§8.1) and hands the decoded body to its
// handler.
func (c *Conf) dispatch(in *spec.Input) verdict {
	switch {
	case !accepts(in.Kind):
		return fail(spec.CodeUnknownKind)
	case !c.configured && in.Kind != spec.KindConfigure:
		return fail(spec.CodeNotConfigured)
	case c.configured && in.Kind == spec.KindConfigure:
		return fail(spec.CodeConfigured)
	}
	body, err := spec.DecodeKind(in.Kind, in.Body)
	if err != nil {
		return fail(spec.CodeMalformed)
	}
	switch m := body.(type) {
	case *spec.Configure:
		return c.onConfigure(m)
	case *spec.PrePrepare:
		return c.onSlotMessage(spec.KindPrePrepare, &m.Body, m.Sig)
	case *spec.Prepare:
		return c.onSlotMessage(spec.KindPrepare, &m.Body, m.Sig)
	case *spec.Checkpoint:
		return c.onCheckpoint(m)
	case *spec.Suspect:
		return c.onSuspect(m)
	case *spec.NewView:
		return c.onNewView(m)
	}
	panic("confa: accepted kind without a handler")
}

// rejectInput appends the Rejection of input idx.
func (c *Conf) rejectInput(idx, kind uint64, v verdict) {
	r := spec.Rejection{Index: idx, Kind: kind, Code: v.code, Sub: v.sub}
	c.out = append(c.out, spec.Output{Kind: spec.KindReject, Body: spec.Encode(&r)})
}

// broadcast appends an output of kind to the given roles of every replica.
func (c *Conf) broadcast(kind, roles uint64, body []byte) {
	all := make([]uint64, c.n())
	for i := range all {
		all[i] = uint64(i)
	}
	c.out = append(c.out, spec.Output{Kind: kind, To: spec.Destination{Roles: roles, Replicas: all}, Body: body})
}
