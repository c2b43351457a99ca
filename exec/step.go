package exec

import "github.com/splitbft/splitbft/spec"

// Step handles an encoded StepInput (SPEC.md §7.4): each input in order through the
// preamble of §8.1 and its kind's rules, then exactly one status output. It never
// panics on any input bytes.
func (e *Exec) Step(in []byte) []byte {
	e.out = e.out[:0]
	var si spec.StepInput
	if err := spec.Decode(in, &si, spec.MaxMessageBytes); err != nil || len(si.Inputs) > spec.MaxStepInputs {
		e.reject(0, 0, spec.CodeMalformed)
	} else {
		for i := range si.Inputs {
			e.handle(uint64(i), &si.Inputs[i])
		}
	}
	e.emit(spec.KindStatus, spec.Destination{}, spec.Encode(e.status()))
	out := spec.EncodeStepOutput(e.out)
	clear(e.out) // the encoding holds copies; drop the bodies, keep the slice for the next Step
	e.out = e.out[:0]
	if cap(e.out) > maxKeptOutputs {
		e.out = nil // one large Step does not pin its output slice for good
	}
	return out
}

// maxKeptOutputs bounds the output slice kept from one Step to the next.
const maxKeptOutputs = 1024

// reject appends the rejection of input index (§1: "reject with X").
func (e *Exec) reject(index, kind, code uint64) {
	r := spec.Rejection{Index: index, Kind: kind, Code: code}
	e.emit(spec.KindReject, spec.Destination{}, spec.Encode(&r))
}

// accepts reports rule A1: the kinds Execution accepts (§11.1).
func accepts(kind uint64) bool {
	switch kind {
	case spec.KindGroupKeyDeal, spec.KindConfigure, spec.KindBatch, spec.KindCommit,
		spec.KindCheckpoint, spec.KindNewView, spec.KindStateRequest, spec.KindStateChunk, spec.KindRead,
		spec.KindEpochVote, spec.KindEpochChange, spec.KindAttest,
		spec.KindSealKey, spec.KindRecover, spec.KindRecoveryVote, spec.KindRecovery:
		return true
	}
	return false
}

// replayKind reports the kinds a replaying exec handles (§17.8): the replay's
// inputs, recovery votes and a recovery.
func replayKind(kind uint64) bool {
	switch kind {
	case spec.KindBatch, spec.KindCommit, spec.KindStateChunk, spec.KindRecoveryVote, spec.KindRecovery:
		return true
	}
	return false
}

// handle runs one input through the preamble A1–A4 (§8.1), after the retired check,
// and its kind's handler; a non-zero code from either is emitted as the input's
// rejection. recover is a setup input like configure (RV1); a replaying exec takes
// only replayKind inputs (a setup input is configured, any other not-configured).
func (e *Exec) handle(index uint64, in *spec.Input) {
	setup := in.Kind == spec.KindConfigure || in.Kind == spec.KindGroupKeyDeal || in.Kind == spec.KindRecover
	var code uint64
	switch {
	case e.retired:
		code = spec.CodeRetired
	case !accepts(in.Kind):
		code = spec.CodeUnknownKind
	case e.rec != nil && setup:
		code = spec.CodeConfigured
	case e.rec != nil && !replayKind(in.Kind):
		code = spec.CodeNotConfigured
	case e.rec == nil && !e.configured && !setup:
		code = spec.CodeNotConfigured
	case e.configured && setup:
		code = spec.CodeConfigured
	default:
		body, err := spec.DecodeKind(in.Kind, in.Body)
		if err != nil {
			code = spec.CodeMalformed
		} else {
			code = e.dispatch(in.Kind, body, in.Body)
		}
	}
	if code != 0 {
		e.reject(index, in.Kind, code)
	}
}

// dispatch calls the handler of a decoded body of kind; raw is its exact encoding.
// It returns 0 when the input was accepted, else the reject code (and then no state
// changed). Epoch and recovery votes share one type; the kind tells them apart.
func (e *Exec) dispatch(kind uint64, body any, raw []byte) uint64 {
	if kind == spec.KindRecoveryVote {
		return e.onRecoveryVote(body.(*spec.EpochVote))
	}
	switch m := body.(type) {
	case *spec.GroupKeyDeal:
		return e.onGroupKeyDeal(m)
	case *spec.Configure:
		return e.onConfigure(m)
	case *spec.Batch:
		return e.onBatch(m, raw)
	case *spec.Commit:
		return e.onCommit(m)
	case *spec.Checkpoint:
		return e.onCheckpoint(m)
	case *spec.NewView:
		return e.onNewView(m)
	case *spec.StateRequest:
		return e.onStateRequest(m)
	case *spec.StateChunk:
		return e.onStateChunk(m)
	case *spec.Read:
		return e.onRead(m)
	case *spec.EpochVote:
		return e.onEpochVote(m)
	case *spec.EpochChange:
		return e.onEpochChange(m)
	case *spec.Enrollment:
		return e.onAttest(m)
	case *spec.SealGet:
		return e.onSealKey()
	case *spec.Recover:
		return e.onRecover(m)
	case *spec.Recovery:
		return e.onRecovery(m)
	}
	panic("exec: dispatch of a kind that accepts() admits but has no handler")
}
