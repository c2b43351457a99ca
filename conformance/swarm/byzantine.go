package swarm

import (
	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/spec"
)

// byzantine is a Byzantine enclave: the real compartment (and, for Twins, a second
// instance of the same identity) plus the enclave's real private key, which the
// wrapper uses to sign whatever its behaviours call for.
type byzantine struct {
	beh     Behaviour
	history []int // pool ids of the messages it emitted
}

// makeByzantine turns node nd into a Byzantine enclave with behaviours beh.
func (s *sim) makeByzantine(nd *node, beh Behaviour) error {
	nd.byz = &byzantine{beh: beh}
	if beh&BTwins != 0 {
		var err error
		if nd.id.Role == spec.RoleExec {
			nd.twinApp = newRecApp()
			nd.twin, err = s.cloneInstance(nd.inst, nd.twinApp)
		} else {
			nd.twin, err = s.cloneInstance(nd.inst, nil)
		}
		return err
	}
	return nil
}

// byzStep delivers inputs to a Byzantine enclave: a Twin pair gets them in A, in B,
// or in both; the outputs are then transformed by the behaviours.
func (s *sim) byzStep(nd *node, inputs []spec.Input) {
	insts := []*instance{nd.inst}
	if nd.twin != nil {
		switch s.rng.IntN(3) {
		case 0:
			insts = []*instance{nd.twin}
		case 1:
			insts = append(insts, nd.twin)
		}
	}
	var outs []spec.Output
	for k, in := range insts {
		out, raw, ok := s.runByzInstance(in, inputs)
		if !ok {
			continue
		}
		if nd.id.Role != spec.RoleExec {
			s.scanSecret(nd, raw) // only an exec ever holds plaintext
		}
		if st, ok := lastStatus(out.Outputs); ok && in == nd.inst {
			nd.status = st
		}
		_ = k
		outs = append(outs, out.Outputs...)
	}
	if nd.app != nil {
		nd.app.take()
	}
	if nd.twinApp != nil {
		nd.twinApp.take()
	}
	s.logStep(nd, inputs, nil)
	if nd.byz.beh&BSilent != 0 {
		return
	}
	for _, o := range outs {
		if nd.byz == nil { // an output certified an epoch that no longer enrols it (followEpoch)
			return
		}
		s.byzOutput(nd, o)
	}
	if nd.byz != nil && nd.byz.beh&BEager != 0 {
		for _, in := range inputs {
			s.onSight(nd, in)
		}
	}
}

// onSight is the eager behaviour on an input: a Byzantine conf commits any slot it
// sees (a PRE-PREPARE or a PREPARE) without a prepared certificate, a Byzantine prep
// prepares any proposal it sees, even a conflicting one.
func (s *sim) onSight(nd *node, in spec.Input) {
	if s.rng.IntN(2) == 0 {
		return
	}
	var kind uint64
	switch {
	case nd.id.Role == spec.RoleConf && (in.Kind == spec.KindPrePrepare || in.Kind == spec.KindPrepare):
		kind = spec.KindCommit
	case nd.id.Role == spec.RolePrep && in.Kind == spec.KindProposal:
		kind = spec.KindPrepare
	default:
		return
	}
	v, err := spec.DecodeKind(in.Kind, in.Body)
	if err != nil {
		return
	}
	var sl spec.Slot
	switch m := v.(type) {
	case *spec.PrePrepare:
		sl = m.Body
	case *spec.Prepare:
		sl = m.Body
	case *spec.Proposal:
		sl = m.Header.Body
	}
	sl.Replica = nd.id.Replica
	s.byzEmit(nd, kind, s.signSlot(nd, kind, sl), nil)
}

// byzOutput emits one output of a Byzantine enclave's real compartment, and the
// conflicting or mutated variants its behaviours sign.
func (s *sim) byzOutput(nd *node, o spec.Output) {
	switch o.Kind {
	case spec.KindReply:
		if s.rng.IntN(2) == 0 {
			if forged, ok := s.forgeReply(nd, o.Body); ok {
				s.replyOut(nd, fromByzantine, forged)
				return
			}
		}
		s.replyOut(nd, fromByzantine, o.Body)
		return
	case spec.KindAttestation:
		s.noteAttestation(nd, fromByzantine, o.Body)
		return
	case spec.KindGroupKeyShares:
		s.noteShares(s.maybeSpoilShares(o.Body))
		return
	case spec.KindStatus, spec.KindReject, spec.KindTransferSummary:
		return
	}
	s.byzEmit(nd, o.Kind, o.Body, o.To.Replicas)
	if nd.byz == nil { // what it emitted certified an epoch that no longer enrols it (followEpoch)
		return
	}
	b := nd.byz.beh
	if b&BEquivocate != 0 && (o.Kind == spec.KindProposal || s.rng.IntN(2) == 0) {
		if k, body, ok := s.equivocate(nd, o.Kind, o.Body); ok {
			mark := len(s.pending)
			s.byzEmit(nd, k, body, o.To.Replicas)
			if sl, _, ok := slotOf(o.Kind, o.Body); ok && o.Kind == spec.KindProposal {
				s.splitBrain(mark, sl.Digest)
			}
		}
	}
	if b&BMutate != 0 && s.rng.IntN(2) == 0 {
		if k, body, ok := s.mutate(nd, o.Kind, o.Body); ok {
			s.byzEmit(nd, k, body, o.To.Replicas)
		}
	}
}

// maybeSpoilShares has a Byzantine dealer spoil the group key shares it deals half
// the time (the new exec must then try another dealer's, SPEC §17.4 step 3).
func (s *sim) maybeSpoilShares(body []byte) []byte {
	var gs spec.GroupKeyShares
	if s.rng.IntN(2) == 0 || spec.Decode(body, &gs, spec.MaxBodyBytes(spec.KindGroupKeyShares)) != nil {
		return body
	}
	for i := range gs.Shares {
		if len(gs.Shares[i].Sealed) > 0 {
			gs.Shares[i].Sealed = append([]byte(nil), gs.Shares[i].Sealed...)
			gs.Shares[i].Sealed[0] ^= 1
		}
	}
	return spec.Encode(&gs)
}

// byzEmit puts a Byzantine enclave's message into the pool.
func (s *sim) byzEmit(nd *node, kind uint64, body []byte, to []uint64) {
	nd.byz.history = append(nd.byz.history, len(s.pool))
	s.emit(nd.id, fromByzantine, kind, body, to)
	s.stats.ByzMessages++
}

// byzAct lets a Byzantine enclave act on its own: sign for something it saw without a
// certificate (eager), re-sign an old message for an older slot (stale), or
// equivocate on or mutate something it signed before.
func (s *sim) byzAct(nd *node) {
	b := nd.byz.beh
	if b&BSilent != 0 || nd.silenced {
		return
	}
	var acts []func(*node) bool
	if b&BEager != 0 {
		acts = append(acts, s.eager)
	}
	if b&BStale != 0 {
		acts = append(acts, s.stale)
	}
	if b&(BEquivocate|BMutate) != 0 {
		acts = append(acts, s.reforge)
	}
	if len(acts) == 0 {
		return
	}
	if acts[s.rng.IntN(len(acts))](nd) {
		s.logf("  %s acts (%s)", nd.id, b)
	}
}

// reforge equivocates on or mutates one of the enclave's earlier messages.
func (s *sim) reforge(nd *node) bool {
	h := nd.byz.history
	if len(h) == 0 {
		return false
	}
	m := s.pool[h[s.rng.IntN(len(h))]]
	f := s.mutate
	if nd.byz.beh&BEquivocate != 0 && s.rng.IntN(2) == 0 {
		f = s.equivocate
	}
	k, body, ok := f(nd, m.kind, m.body)
	if ok {
		s.byzEmit(nd, k, body, m.to)
	}
	return ok
}

// stale re-signs one of the enclave's old slot messages for an older view or
// sequence number, or replays it unchanged.
func (s *sim) stale(nd *node) bool {
	h := nd.byz.history
	if len(h) == 0 {
		return false
	}
	m := s.pool[h[s.rng.IntN(len(h))]]
	k, body, ok := s.staleVariant(nd, m.kind, m.body)
	if !ok {
		k, body = m.kind, m.body
	}
	s.byzEmit(nd, k, body, m.to)
	return true
}

// eager signs, without any certificate, for something the enclave saw in the pool.
func (s *sim) eager(nd *node) bool {
	switch nd.id.Role {
	case spec.RolePrep:
		return s.eagerPrep(nd)
	case spec.RoleConf:
		return s.eagerConf(nd)
	}
	return s.eagerExec(nd)
}

// runByzInstance runs the real compartment inside a Byzantine enclave. Its inputs may
// carry messages signed with its own key that it never produced (its Twin's, or the
// wrapper's forgeries), which no correct enclave can ever receive; a panic there is
// recorded as a note (an internal invariant that key compromise breaks), and the
// instance stays dead.
func (s *sim) runByzInstance(in *instance, inputs []spec.Input) (*spec.StepOutput, []byte, bool) {
	if in.dead {
		return nil, nil, false
	}
	raw, err := in.stepRaw(spec.Encode(&spec.StepInput{Inputs: inputs}))
	if err != nil {
		s.note("Byzantine %s: %v on %s", in.name, err, describeInputs(inputs))
		return nil, nil, false
	}
	out, err := conformance.CheckOutput(raw)
	if err != nil {
		s.fail("output-shape", "%s: %v", in.name, err)
		return nil, nil, false
	}
	return out, raw, true
}
