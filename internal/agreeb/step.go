package agreeb

import "github.com/splitbft/splitbft/spec"

// Handler is one compartment's side of Step. Every field must be set.
type Handler struct {
	// Accepts lists the kinds the compartment accepts (line A1).
	Accepts map[uint64]bool
	// Configured reports whether a configure input has been accepted (lines A2,
	// A3); it is asked again for every input.
	Configured func() bool
	// Retired reports whether the compartment retired at an epoch change (SPEC
	// §17.4): every later input is then rejected retired before line A1 (§8.1). It
	// is asked again for every input.
	Retired func() bool
	// Dispatch applies the compartment's rules to the decoded body of input idx,
	// appending to out any outputs of an accepted input (and of the Rejections with
	// Sub it emits itself); it returns the reject code and Sub (code 0: accepted).
	// A rejected input must leave the state unchanged.
	Dispatch func(out *Outputs, idx uint64, body any) (code, sub uint64)
	// Status returns the compartment's Status, emitted last.
	Status func() *spec.Status
}

// Step runs one Step call (SPEC.md §7.4) of the compartment h: it decodes the
// StepInput (a malformed one, or one with more than MaxStepInputs inputs, gives a
// single malformed Rejection of index 0 and kind 0), handles every input in order,
// appends exactly one Status and returns the encoded StepOutput. It never panics on
// untrusted input.
func Step(in []byte, h *Handler) []byte {
	var out Outputs
	var si spec.StepInput
	if err := spec.Decode(in, &si, spec.MaxMessageBytes); err != nil || len(si.Inputs) > spec.MaxStepInputs {
		out.Reject(0, 0, spec.CodeMalformed, 0)
	} else {
		for i := range si.Inputs {
			h.handle(&out, uint64(i), &si.Inputs[i])
		}
	}
	out.Local(spec.KindStatus, h.Status())
	return spec.Encode(&spec.StepOutput{Outputs: out.list})
}

// handle runs the retired check and the input preamble A1–A4 (§8.1), dispatches
// one input and emits its Rejection if it is rejected.
func (h *Handler) handle(out *Outputs, idx uint64, in *spec.Input) {
	code, sub := h.preamble(in.Kind), uint64(0)
	if code == 0 {
		body, err := spec.DecodeKind(in.Kind, in.Body)
		if err != nil { // A4
			code = spec.CodeMalformed
		} else {
			code, sub = h.Dispatch(out, idx, body)
		}
	}
	if code != 0 {
		out.Reject(idx, in.Kind, code, sub)
	}
}

// preamble applies the retired check and lines A1–A3 to an input of kind k.
func (h *Handler) preamble(k uint64) uint64 {
	configured := h.Configured()
	switch {
	case h.Retired(): // §8.1: before A1
		return spec.CodeRetired
	case !h.Accepts[k]: // A1
		return spec.CodeUnknownKind
	case !configured && k != spec.KindConfigure: // A2
		return spec.CodeNotConfigured
	case configured && k == spec.KindConfigure: // A3
		return spec.CodeConfigured
	}
	return 0
}
