package swarm

import (
	"github.com/splitbft/splitbft/spec"
)

// mutant is a deliberately broken build: a wrapper around the real compartment that
// holds its key and signs (or, for exec, performs) the broken behaviour. It is
// deployed on every non-Byzantine replica of one role; the oracles must then catch a
// safety violation.
type mutant interface {
	step(s *sim, nd *node, inputs []spec.Input) (stepResult, bool)
}

// installMutants deploys the run's mutant on every non-Byzantine slot of its role.
func (s *sim) installMutants() {
	for r := range s.nodes {
		for _, nd := range s.nodes[r] {
			if nd.byz != nil {
				continue
			}
			switch {
			case s.opt.Mutant == MutantConfNoPrePrepare && nd.id.Role == spec.RoleConf:
				nd.mut = &confNoPrePrepare{prepares: map[slotKey]uint64{}, committed: map[[2]uint64]bool{}}
			case s.opt.Mutant == MutantExecTwoF && nd.id.Role == spec.RoleExec:
				nd.mut = &execTwoF{commits: map[uint64]map[uint64]spec.Slot{}, forged: map[uint64]bool{}}
			case s.opt.Mutant == MutantPrepSecondDigest && nd.id.Role == spec.RolePrep:
				nd.mut = &prepSecondDigest{signed: map[slotKey]bool{}}
			}
		}
	}
}

// slotKey is (view, seq, digest).
type slotKey struct {
	view, seq uint64
	digest    spec.Digest
}

// insertBeforeStatus adds outputs just before the final status.
func insertBeforeStatus(outs []spec.Output, extra ...spec.Output) []spec.Output {
	if len(extra) == 0 {
		return outs
	}
	st := outs[len(outs)-1]
	outs = append(outs[:len(outs)-1:len(outs)-1], extra...)
	return append(outs, st)
}

// confNoPrePrepare commits on 2f matching PREPAREs of its current view without the
// PRE-PREPARE (breaks SPEC.md §10.3: the prepared certificate needs the PRE-PREPARE,
// and so its VIEW-CHANGE will not carry what it committed).
type confNoPrePrepare struct {
	prepares  map[slotKey]uint64 // senders of accepted PREPAREs
	committed map[[2]uint64]bool // (view, seq) it committed (itself or the real conf)
}

func (m *confNoPrePrepare) step(s *sim, nd *node, inputs []spec.Input) (stepResult, bool) {
	res, ok := s.plainStep(nd.inst, inputs)
	if !ok {
		return res, false
	}
	st, _ := lastStatus(res.outputs)
	for _, o := range res.outputs {
		if sl, _, ok := slotOf(o.Kind, o.Body); ok && o.Kind == spec.KindCommit {
			m.committed[[2]uint64{sl.View, sl.Seq}] = true
		}
	}
	var extra []spec.Output
	for i, in := range inputs {
		if in.Kind != spec.KindPrepare || res.codes[i] != 0 {
			continue
		}
		sl, _, _ := slotOf(in.Kind, in.Body)
		k := slotKey{sl.View, sl.Seq, sl.Digest}
		m.prepares[k] |= 1 << sl.Replica
		vs := [2]uint64{sl.View, sl.Seq}
		if popcount(m.prepares[k]) >= int(2*s.cfg.F) && !m.committed[vs] && sl.View == st.View && st.ViewActive && sl.Seq > st.Stable {
			m.committed[vs] = true
			c := spec.Slot{View: sl.View, Seq: sl.Seq, Digest: sl.Digest, Replica: nd.id.Replica}
			extra = append(extra, spec.Output{Kind: spec.KindCommit, To: allReplicas(s, spec.ToExec), Body: s.signSlot(nd, spec.KindCommit, c)})
		}
	}
	res.outputs = insertBeforeStatus(res.outputs, extra...)
	s.stats.MutantActs += len(extra)
	return res, true
}

// allReplicas is the destination "role r at every replica".
func allReplicas(s *sim, roles uint64) spec.Destination {
	d := spec.Destination{Roles: roles}
	for r := range s.cfg.N {
		d.Replicas = append(d.Replicas, r)
	}
	return d
}

// prepSecondDigest prepares a proposal that the real prep rejected as a conflict
// (breaks SPEC.md §9.4 P7: one digest per (view, seq)), after checking the batch.
type prepSecondDigest struct {
	signed map[slotKey]bool
}

func (m *prepSecondDigest) step(s *sim, nd *node, inputs []spec.Input) (stepResult, bool) {
	res, ok := s.plainStep(nd.inst, inputs)
	if !ok {
		return res, false
	}
	var extra []spec.Output
	for i, in := range inputs {
		if in.Kind != spec.KindProposal || res.codes[i] != spec.CodeConflict {
			continue
		}
		sl, b, _ := slotOf(in.Kind, in.Body)
		k := slotKey{sl.View, sl.Seq, sl.Digest}
		if m.signed[k] || spec.BatchDigest(&b) != sl.Digest || len(b.Requests) == 0 || !s.batchValid(&batchInfo{b: b}, nd.epoch) {
			continue
		}
		m.signed[k] = true
		p := spec.Slot{View: sl.View, Seq: sl.Seq, Digest: sl.Digest, Replica: nd.id.Replica}
		extra = append(extra, spec.Output{Kind: spec.KindPrepare, To: allReplicas(s, spec.ToConf), Body: s.signSlot(nd, spec.KindPrepare, p)})
	}
	res.outputs = insertBeforeStatus(res.outputs, extra...)
	s.stats.MutantActs += len(extra)
	return res, true
}

// execTwoF executes once 2f COMMITs (not q) share (view, digest) (breaks SPEC.md
// §11.4). To make the real exec execute, the wrapper feeds it the missing COMMIT
// signed with a conf key the simulator holds — a model of the broken threshold inside
// the enclave; the forged COMMIT never leaves the wrapper.
type execTwoF struct {
	commits map[uint64]map[uint64]spec.Slot // seq → sender → accepted commit
	forged  map[uint64]bool
}

func (m *execTwoF) step(s *sim, nd *node, inputs []spec.Input) (stepResult, bool) {
	res, ok := s.plainStep(nd.inst, inputs)
	if !ok {
		return res, false
	}
	st, _ := lastStatus(res.outputs)
	for i, in := range inputs {
		if in.Kind != spec.KindCommit || res.codes[i] != 0 {
			continue
		}
		sl, _, _ := slotOf(in.Kind, in.Body)
		if m.commits[sl.Seq] == nil {
			m.commits[sl.Seq] = map[uint64]spec.Slot{}
		}
		m.commits[sl.Seq][sl.Replica] = sl
		if m.forged[sl.Seq] || sl.Seq <= st.Last {
			continue
		}
		if extra, ok := m.forge(s, sl); ok {
			m.forged[sl.Seq] = true
			s.stats.MutantActs++
			res2, ok := s.plainStep(nd.inst, []spec.Input{extra})
			if !ok {
				return res2, false
			}
			res.inputs = append(append([]spec.Input(nil), res.inputs...), extra)
			res.codes = append(res.codes, res2.codes...)
			res.outputs = append(res.outputs[:len(res.outputs)-1:len(res.outputs)-1], res2.outputs...)
			res.raws = append(res.raws, res2.raws...)
			st, _ = lastStatus(res.outputs)
		}
	}
	return res, true
}

// forge returns the COMMIT that completes a quorum when exactly 2f stored commits
// match sl's (view, digest): one from the lowest conf not among them.
func (m *execTwoF) forge(s *sim, sl spec.Slot) (spec.Input, bool) {
	var senders uint64
	for r, o := range m.commits[sl.Seq] {
		if o.View == sl.View && o.Digest == sl.Digest {
			senders |= 1 << r
		}
	}
	if popcount(senders) != int(2*s.cfg.F) {
		return spec.Input{}, false
	}
	for r := range s.cfg.N {
		if senders&(1<<r) == 0 {
			c := spec.Slot{View: sl.View, Seq: sl.Seq, Digest: sl.Digest, Replica: r}
			body := spec.Commit{Body: c, Sig: s.sign(s.signKeyOf(spec.RoleConf, r), spec.DomainCommit, &c)}
			return spec.Input{Kind: spec.KindCommit, Body: spec.Encode(&body)}, true
		}
	}
	return spec.Input{}, false
}

// MutantExecAdmitTwoF: every non-Byzantine exec admits an enrollment on 2f
// attestations instead of q (breaks SPEC.md §17.2 AD3). The admission reaches the
// execs sealed inside an ordered request, so the broken threshold cannot be fed in
// the way execTwoF feeds its COMMIT; the simulator models it where the adversary
// submits an admission that 2f attestations support (bogusAdmission, admit.go): it
// completes it with the signature of an exec that did not attest, which every exec —
// all of them mutants, or Byzantine — then accepts. No correct exec emitted that
// attestation, so the admission oracle counts at most f correct attesters and fails.
//
// padAttestation is the broken threshold: an attestation signed with the key
// of an exec of the latest configuration that has not attested.
func (s *sim) padAttestation(a *admission) {
	for r := range s.cfg.N {
		ex := s.nodes[r][spec.RoleExec]
		if _, ok := a.atts[r]; !ok && enrolled(s.cfg, ex) {
			body := spec.AttestationBody{Enrollment: a.digest, Replica: r}
			a.atts[r] = spec.Attestation{Body: body, Sig: s.sign(ex.key, spec.DomainAttest, &body)}
			s.stats.MutantActs++
			return
		}
	}
}
