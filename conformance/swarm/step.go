package swarm

import (
	"bytes"

	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/spec"
)

// stepResult is what one Step of a correct (or mutant) node did.
type stepResult struct {
	inputs  []spec.Input // the inputs the compartment processed (a mutant may add some)
	codes   []uint64     // reject code per input; 0 = accepted
	outputs []spec.Output
	raws    [][]byte // the raw StepOutputs the real compartment produced
}

// runInstance runs inputs through one real compartment and decodes its output,
// checking the output's shape (SPEC.md §7.4).
func (s *sim) runInstance(in *instance, inputs []spec.Input) (*spec.StepOutput, []byte, bool) {
	raw, err := in.stepRaw(spec.Encode(&spec.StepInput{Inputs: inputs}))
	if err != nil {
		s.fail("no-panic", "%s (seed %d): %v on %s", in.build, in.seed, err, describeInputs(inputs))
		return nil, nil, false
	}
	out, err := conformance.CheckOutput(raw)
	if err != nil {
		s.fail("output-shape", "%s: %v", in.build, err)
		return nil, nil, false
	}
	return out, raw, true
}

// plainStep runs inputs through a node's enclave and collects the reject codes.
func (s *sim) plainStep(in *instance, inputs []spec.Input) (stepResult, bool) {
	out, raw, ok := s.runInstance(in, inputs)
	if !ok {
		return stepResult{}, false
	}
	return stepResult{inputs: inputs, codes: rejectCodes(out.Outputs, len(inputs)), outputs: out.Outputs, raws: [][]byte{raw}}, true
}

// rejectCodes maps the rejections among outputs to their inputs.
func rejectCodes(outs []spec.Output, n int) []uint64 {
	codes := make([]uint64, n)
	for _, o := range outs {
		if o.Kind != spec.KindReject {
			continue
		}
		var r spec.Rejection
		if spec.Decode(o.Body, &r, spec.MaxBodyBytes(spec.KindReject)) == nil && r.Index < uint64(n) && codes[r.Index] == 0 {
			codes[r.Index] = r.Code
		}
	}
	return codes
}

// deliver hands the deliveries (all to one node) to that node as one Step.
func (s *sim) deliver(to enclaveID, ds []delivery) {
	nd := s.nodes[to.Replica][to.Role]
	if nd.silenced || len(ds) == 0 {
		return
	}
	inputs := make([]spec.Input, len(ds))
	for i, d := range ds {
		inputs[i] = spec.Input{Kind: d.kind, Body: d.body}
		s.noteDelivered(nd, d)
	}
	s.stats.Steps++
	switch {
	case nd.byz != nil:
		s.byzStep(nd, inputs)
	case nd.restarted:
		s.restartedStep(nd, inputs)
	default:
		s.correctStep(nd, ds, inputs)
	}
}

// noteDelivered records a batch handed to an exec (the oracles look batches up).
func (s *sim) noteDelivered(nd *node, d delivery) {
	if d.kind == spec.KindBatch || d.kind == spec.KindClientBatch {
		var b spec.Batch
		if spec.Decode(d.body, &b, spec.MaxBodyBytes(spec.KindBatch)) == nil {
			s.noteBatch(d.body, &b)
		}
	}
}

// correctStep runs a correct (or mutant) node and checks the oracles on what it did.
func (s *sim) correctStep(nd *node, ds []delivery, inputs []spec.Input) {
	var res stepResult
	var ok bool
	if nd.mut != nil {
		res, ok = nd.mut.step(s, nd, inputs)
	} else {
		res, ok = s.plainStep(nd.inst, inputs)
	}
	if !ok {
		return
	}
	for _, raw := range res.raws {
		s.scanSecret(nd, raw)
	}
	eps, final := s.epochOfInputs(nd, res.inputs, res.codes)
	s.checkIsolation(nd, ds, res.codes, eps)
	before := nd.status
	st, ok := lastStatus(res.outputs)
	if !ok {
		s.fail("output-shape", "%s: no status", nd.id)
		return
	}
	s.checkMonotone(nd, before, st, final > nd.epoch || emitsEpochChange(res.outputs))
	nd.status = st
	if nd.id.Role == spec.RoleExec {
		s.persistExecuted(nd, s.observeExec(nd, res, before, st))
		s.noteStoreFull(nd, res, before)
	}
	s.adopt(nd, final)
	s.logStep(nd, inputs, res.codes)
	s.routeOutputs(nd, fromCorrect, res.outputs)
}

// emitsEpochChange reports whether an exec's outputs end its epoch (it adopts the
// epoch change it emits, SPEC §17.3).
func emitsEpochChange(outs []spec.Output) bool {
	for _, o := range outs {
		if o.Kind == spec.KindEpochChange {
			return true
		}
	}
	return false
}

// routeOutputs sends a node's outputs on: protocol messages into the pool, replies to
// the client queue.
func (s *sim) routeOutputs(nd *node, og origin, outs []spec.Output) {
	for _, o := range outs {
		switch o.Kind {
		case spec.KindReply:
			s.replyOut(nd, og, o.Body)
		case spec.KindProposal, spec.KindPrepare, spec.KindCommit, spec.KindCheckpoint,
			spec.KindViewChange, spec.KindNewView, spec.KindStateChunk, spec.KindEpochVote:
			if og == fromCorrect {
				s.checkCerts(nd, o.Kind, o.Body)
			}
			s.emit(nd.id, og, o.Kind, o.Body, o.To.Replicas)
		case spec.KindEpochChange:
			cur, inst := nd.epoch, nd.inst
			s.emit(nd.id, og, o.Kind, o.Body, o.To.Replicas) // may hand the slot to a fresh instance
			if e, ok := changeEpoch(o.Body); ok && og == fromCorrect && nd.inst == inst {
				s.checkAdoption(nd, cur, e, o.Body)
				s.adopt(nd, e)
			}
		case spec.KindAttestation:
			s.noteAttestation(nd, og, o.Body)
		case spec.KindGroupKeyShares:
			if og == fromCorrect {
				s.noteShares(o.Body)
			}
		}
	}
}

// lastStatus decodes the status that ends a step's outputs.
func lastStatus(outs []spec.Output) (spec.Status, bool) {
	var st spec.Status
	if len(outs) == 0 || outs[len(outs)-1].Kind != spec.KindStatus {
		return st, false
	}
	return st, spec.Decode(outs[len(outs)-1].Body, &st, spec.MaxBodyBytes(spec.KindStatus)) == nil
}

// secretMarker prefixes every key and value the clients write: no byte string a
// compartment (other than a Byzantine exec) emits may contain it (SPEC.md §12.5).
var secretMarker = []byte("swarm-secret")

// scanSecret is the confidentiality oracle on one raw StepOutput.
func (o *oracles) scanSecret(nd *node, raw []byte) {
	if bytes.Contains(raw, secretMarker) {
		o.fail("confidentiality", "%s emitted plaintext (a planted marker) in its outputs", nd.id)
	}
}

// describeInputs summarises inputs for the event log.
func describeInputs(inputs []spec.Input) string {
	if len(inputs) == 1 {
		return spec.Describe(inputs[0].Kind, inputs[0].Body)
	}
	s := ""
	for i, in := range inputs {
		if i > 0 {
			s += ", "
		}
		if i == 3 {
			return s + "…"
		}
		s += spec.KindName(in.Kind)
	}
	return s
}

// noteStoreFull counts, in the liveness phase, batches a correct exec needed (listed
// in its NeedBatch) and refused as store-full: the signature of a known bug.
func (s *sim) noteStoreFull(nd *node, res stepResult, before spec.Status) {
	if s.phase != "liveness" {
		return
	}
	for i, in := range res.inputs {
		if in.Kind != spec.KindBatch || res.codes[i] != spec.CodeStoreFull {
			continue
		}
		var b spec.Batch
		if spec.Decode(in.Body, &b, spec.MaxBodyBytes(spec.KindBatch)) == nil {
			d := spec.BatchDigest(&b)
			for _, need := range before.NeedBatch {
				if need == d {
					s.storeFullNeeded++
				}
			}
		}
	}
}
