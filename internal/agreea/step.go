package agreea

import "github.com/splitbft/splitbft/spec"

// Verdict is a handler's answer for one input: Code 0 accepts it; otherwise Code is
// the reject code of the first rule it failed and Sub the 1-based index of the
// offending request in a batch, or 0 (SPEC.md §7.4, Rejection).
type Verdict struct{ Code, Sub uint64 }

// Accept is the verdict of an accepted input.
var Accept = Verdict{}

// Fail returns the verdict of an input rejected with code (Sub 0).
func Fail(code uint64) Verdict { return Verdict{Code: code} }

// Outbox collects the outputs of the Step in progress, in the order the rules produce
// them (§7.4). Step empties it when it starts and when it returns, so between Steps
// it is empty.
type Outbox struct {
	outs []spec.Output
}

// Reject appends the Rejection of input idx of kind with verdict v (v.Code != 0).
func (o *Outbox) Reject(idx, kind uint64, v Verdict) {
	r := spec.Rejection{Index: idx, Kind: kind, Code: v.Code, Sub: v.Sub}
	o.outs = append(o.outs, spec.Output{Kind: spec.KindReject, Body: spec.Encode(&r)})
}

// Broadcast appends an output of kind with body to the given roles (a Destination
// role bit set) of every one of the n replicas.
func (o *Outbox) Broadcast(kind, roles, n uint64, body []byte) {
	all := make([]uint64, n)
	for i := range all {
		all[i] = uint64(i)
	}
	o.outs = append(o.outs, spec.Output{Kind: kind, To: spec.Destination{Roles: roles, Replicas: all}, Body: body})
}

// Step runs one encoded StepInput (§7.4) for a compartment whose outputs collect in
// out: each input in order, completely, through dispatch (given the input's index;
// a verdict with Code != 0 appends that input's Rejection), then exactly one Status,
// status(), taken after the last input. A StepInput that does not decode, or has more
// than 4096 inputs, yields one malformed Rejection (Index 0, Kind 0) and the Status.
// It returns the encoded StepOutput.
func Step(in []byte, out *Outbox, dispatch func(idx uint64, in *spec.Input) Verdict, status func() *spec.Status) []byte {
	out.outs = nil
	var si spec.StepInput
	if err := spec.Decode(in, &si, spec.MaxMessageBytes); err != nil || len(si.Inputs) > spec.MaxStepInputs {
		out.Reject(0, 0, Fail(spec.CodeMalformed))
	} else {
		for i := range si.Inputs {
			if v := dispatch(uint64(i), &si.Inputs[i]); v.Code != 0 {
				out.Reject(uint64(i), si.Inputs[i].Kind, v)
			}
		}
	}
	out.outs = append(out.outs, spec.Output{Kind: spec.KindStatus, Body: spec.Encode(status())})
	enc := spec.Encode(&spec.StepOutput{Outputs: out.outs})
	out.outs = nil
	return enc
}

// Preamble applies the input preamble A1–A4 (§8.1) of a prep or conf to in: accepts
// reports whether a kind is an input of the role (A1), configured whether configure
// was accepted (A2, A3). It returns the decoded body (A4), or the verdict of the first
// line in fails.
func Preamble(in *spec.Input, accepts func(kind uint64) bool, configured bool) (any, Verdict) {
	switch {
	case !accepts(in.Kind):
		return nil, Fail(spec.CodeUnknownKind) // A1
	case !configured && in.Kind != spec.KindConfigure:
		return nil, Fail(spec.CodeNotConfigured) // A2
	case configured && in.Kind == spec.KindConfigure:
		return nil, Fail(spec.CodeConfigured) // A3
	}
	body, err := spec.DecodeKind(in.Kind, in.Body)
	if err != nil {
		return nil, Fail(spec.CodeMalformed) // A4
	}
	return body, Accept
}
