package broker

import (
	"slices"

	"github.com/splitbft/splitbft/spec"
)

// Flush delivers everything queued: each round cuts the batches that are full, then
// gives every compartment with waiting inputs one Step call holding all of them (to
// amortise enclave transitions) and routes the outputs, which may queue more inputs.
// It returns when nothing is queued, or after Options.MaxFlushRounds rounds (the rest
// stays queued for the next Flush).
func (r *Replica) Flush() {
	r.releaseDurable()
	for range r.opt.MaxFlushRounds {
		r.batch.cut(false)
		stepped := false
		for role := spec.RolePrep; role <= spec.RoleExec; role++ {
			if r.in[role].Len() > 0 {
				r.step(role)
				stepped = true
			}
		}
		if !stepped {
			return
		}
	}
	if r.in[0].Len()+r.in[1].Len()+r.in[2].Len() > 0 {
		r.m.FlushCutoffs++
	}
}

// takeInputs removes the inputs of one Step call: at most MaxStepInputs of them and
// MaxStepBytes of bodies (at least one, unless every waiting input is withheld, which
// it drops and counts); their sources go to r.stepSrc.
func (r *Replica) takeInputs(role spec.Role) []spec.Input {
	var ins []spec.Input
	r.stepSrc = r.stepSrc[:0]
	size := 0
	q := r.in[role]
	for q.Len() > 0 && len(ins) < spec.MaxStepInputs {
		if n := len(q.Peek().Body) + 16; len(ins) > 0 && size+n > r.opt.MaxStepBytes {
			break
		}
		in := q.Pop()
		if in.Kind == spec.KindClientBatch {
			r.batchIn--
		}
		if r.withheld(role, &in) {
			r.m.Withheld[role]++
			continue
		}
		size += len(in.Body) + 16
		ins = append(ins, in.Input)
		r.stepSrc = append(r.stepSrc, in.from)
	}
	return ins
}

// step runs one Step call on a compartment and handles its outputs.
func (r *Replica) step(role spec.Role) {
	ins := r.takeInputs(role)
	if len(ins) == 0 { // all withheld
		return
	}
	r.m.Steps[role]++
	r.m.Inputs[role] += uint64(len(ins))
	inst := r.instance[role]
	if rl, ok := r.net.(Releaser); ok {
		rl.Release() // what earlier outputs queued is written while this call waits
	}
	raw, err := r.enc[role].Step(spec.EncodeStepInput(ins))
	if err != nil {
		r.m.HostErrors[role]++
		r.dead[role] = true
		r.resetInputs(role)
		return
	}
	var out spec.StepOutput
	if err := spec.Decode(raw, &out, spec.MaxMessageBytes); err != nil {
		r.m.Garbage++
		return
	}
	if role == spec.RoleExec && r.opt.Ledger != nil {
		r.reportAccepted(ins, out.Outputs) // before the outputs, which may adopt an epoch
	}
	for i := range out.Outputs {
		if out.Outputs[i].Kind == spec.KindStatus && r.replaced(role, inst) {
			continue // an output of this Step installed a fresh instance: the status is the old one's
		}
		r.handleOutput(role, ins, &out.Outputs[i])
	}
	if role == spec.RoleExec && r.opt.Ledger != nil {
		r.endExecStep()
	}
}

// handleOutput acts on one output of a compartment.
func (r *Replica) handleOutput(role spec.Role, ins []spec.Input, o *spec.Output) {
	switch o.Kind {
	case spec.KindStatus:
		var st spec.Status
		if spec.Decode(o.Body, &st, spec.MaxBodyBytes(spec.KindStatus)) != nil || st.Role != role {
			r.m.Garbage++
			return
		}
		r.onStatus(role, st)
	case spec.KindReject:
		var rj spec.Rejection
		if spec.Decode(o.Body, &rj, spec.MaxBodyBytes(spec.KindReject)) != nil {
			r.m.Garbage++
			return
		}
		r.m.Rejections[rj.Code]++
		r.onReject(role, ins, &rj)
	case spec.KindReply:
		r.onReply(role, o.Body)
	case spec.KindReadReply:
		r.onReadReply(role, o.Body)
	case spec.KindTransferSummary:
		r.onSummary(role, o.Body)
	case spec.KindEpochChange:
		r.onEpochChangeOutput(role, o)
	case spec.KindRecovery:
		r.onRecoveryOutput(role, o.Body)
	case spec.KindSealedKey:
		r.onSealedKey(role, o.Body)
	case spec.KindStateChunk:
		if !r.ownChunk(role, o) {
			r.route(role, o)
		}
	case spec.KindAttestation:
		r.onAttestationOutput(role, o.Body)
	case spec.KindGroupKeyShares:
		r.onSharesOutput(role, o.Body)
	default:
		r.route(role, o)
	}
}

// route sends a protocol output to the peers in its destination and queues it for the
// local compartments the routing table names, never back to the producer (SPEC.md
// §13.3 obligations 2 and 3).
func (r *Replica) route(role spec.Role, o *spec.Output) {
	prod, ok := producerOf(o.Kind)
	if !ok || prod != role || o.Kind == spec.KindReply {
		r.m.Garbage++
		return
	}
	body, err := spec.DecodeKind(o.Kind, o.Body)
	if err != nil {
		r.m.Garbage++
		return
	}
	r.observe(o.Kind, o.Body, body)
	if c, ok := body.(*spec.Commit); ok {
		r.confCommitted(c)
	}
	var peers []uint64
	local := false
	for _, to := range o.To.Replicas { // a faulty compartment may list ids twice or out of range
		switch {
		case to == r.id:
			local = true
		case to < r.cfg.N && !slices.Contains(peers, to):
			peers = append(peers, to)
		}
	}
	if local {
		r.deliverLocal(o.Kind, o.Body, body, tableRoles(o.Kind)&^(1<<role), 0)
	}
	if len(peers) == 0 {
		return
	}
	msg := EncodePeer(o.Kind, o.Body)
	for _, to := range peers {
		r.net.Send(to, msg)
		r.m.PeerOut++
	}
	if o.Kind != spec.KindStateChunk {
		r.remember(o.Kind, msg, peers, body)
	}
}

// onReply hands an exec reply to its client and stops that request's timer; with a
// Ledger, once the batch it answers is durable.
func (r *Replica) onReply(role spec.Role, body []byte) {
	c, ts, err := spec.DecodeReplyHeader(body) // the client checks the rest
	switch {
	case role != spec.RoleExec || err != nil:
		r.m.Garbage++
	case r.opt.Ledger != nil:
		r.holdReply(c, ts, body)
	default:
		r.sendReply(c, ts, body)
	}
}

// onSummary stops the request timers that a state transfer of the local exec covered
// (SPEC.md §11.7, §13.3 obligation 5).
func (r *Replica) onSummary(role spec.Role, body []byte) {
	var sum spec.TransferSummary
	if role != spec.RoleExec || spec.Decode(body, &sum, spec.MaxBodyBytes(spec.KindTransferSummary)) != nil {
		r.m.Garbage++
		return
	}
	for _, c := range sum.Clients {
		r.replied(c.Client, c.Timestamp)
	}
}

// onReject reacts to a rejection: a client batch that prep could not order for lack
// of window space is queued again; a request of a client batch with a bad signature
// marks its client for verification on arrival; a state chunk exec refused is asked
// for again.
func (r *Replica) onReject(role spec.Role, ins []spec.Input, rj *spec.Rejection) {
	if rj.Index >= uint64(len(ins)) {
		return
	}
	if rj.Sub == 0 && rj.Code == spec.CodeBadSignature && rj.Index < uint64(len(r.stepSrc)) && r.stepSrc[rj.Index] > 0 {
		r.junkFailed(r.stepSrc[rj.Index]-1, role)
	}
	if in := ins[rj.Index]; role == spec.RoleExec && in.Kind == spec.KindStateChunk && rj.Sub == 0 {
		r.onChunkRejected(in.Body, rj.Code)
		return
	}
	if role == spec.RoleExec && ins[rj.Index].Kind == spec.KindConfigure {
		r.onExecConfigure(nil, true)
		return
	}
	if role != spec.RolePrep || ins[rj.Index].Kind != spec.KindClientBatch {
		return
	}
	switch in := ins[rj.Index]; {
	case rj.Sub == 0 && (rj.Code == spec.CodeWindowFull || rj.Code == spec.CodeNotPrimary):
		r.batch.requeue(in.Body)
	case rj.Sub > 0 && rj.Code == spec.CodeBadSignature:
		r.onBadSignature(in.Body, rj.Sub-1)
	}
}

// onStatus records a compartment's status and lets timers, batching and recovery react.
func (r *Replica) onStatus(role spec.Role, st spec.Status) {
	old := r.status[role]
	r.status[role] = st
	switch role {
	case spec.RolePrep:
		if st.View != old.View {
			r.onPrepView()
		}
	case spec.RoleConf:
		if st.Stable != old.Stable {
			r.pruneConfDone(st.Stable)
			r.pruneGate(role, st.Stable)
		}
		r.onConfStatus(old, st)
	case spec.RoleExec:
		if st.Stable != old.Stable {
			r.pruneGate(role, st.Stable)
		}
		r.onExecStatus(old, st)
		r.onExecConfigure(&st, false)
		r.onArchiveStatus(st)
	}
	r.checkJoin()
}
