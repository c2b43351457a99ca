package confa

import (
	"github.com/splitbft/splitbft/internal/agreea"
	"github.com/splitbft/splitbft/spec"
)

// verdict is a handler's answer for one input (agreea.Verdict): Code 0 accepts it;
// otherwise Code is the reject code of the first rule it failed (Sub is always 0 in
// this compartment).
type verdict = agreea.Verdict

// accept is the verdict of an accepted input.
var accept = agreea.Accept

// fail returns the verdict of an input rejected with code.
func fail(code uint64) verdict { return agreea.Fail(code) }

// Step handles one encoded StepInput (SPEC.md §7.4): each input in order, completely,
// then exactly one Status. A StepInput that does not decode, or has more than 4096
// inputs, yields one malformed Rejection (Index 0, Kind 0) and the Status.
func (c *Conf) Step(in []byte) []byte {
	return agreea.Step(in, &c.out, c.dispatch, c.status)
}

// accepts reports whether kind is an input of Confirmation (§10.1).
func accepts(kind uint64) bool {
	switch kind {
	case spec.KindConfigure, spec.KindPrePrepare, spec.KindPrepare,
		spec.KindCheckpoint, spec.KindSuspect, spec.KindNewView, spec.KindEpochChange:
		return true
	}
	return false
}

// dispatch applies the input preamble A1–A4 (§8.1) and hands the decoded body to its
// handler (the input's index is not needed: no conf rule rejects part of an input).
func (c *Conf) dispatch(_ uint64, in *spec.Input) verdict {
	if c.retired {
		return fail(spec.CodeRetired) // §8.1: a retired compartment accepts nothing (§17.4)
	}
	body, v := agreea.Preamble(in, accepts, c.configured)
	if v.Code != 0 {
		return v
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
	case *spec.EpochChange:
		return c.onEpochChange(m)
	}
	panic("confa: accepted kind without a handler")
}

// broadcast appends an output of kind to the given roles of every replica.
func (c *Conf) broadcast(kind, roles uint64, body []byte) {
	c.out.Broadcast(kind, roles, c.n(), body)
}
