package swarm

import (
	"fmt"
	"slices"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// This file is the whole-cluster restart (SPEC.md §17.8) as the simulated brokers and
// members' tool run it: every enclave of every replica stops at once; what the
// brokers persisted (disk.go) survives, one replica's disk possibly faulty; fresh
// enclaves start with Challenge the last configuration's digest; the tool chooses the
// highest head any disk proves and signs the plan with the member key; each fresh
// exec gets recover, the base snapshot's chunks and the batches and COMMITs up to the
// head, and the execs' recovery votes are routed until a recovery emerges; then the
// preps and confs are configured with C', the clients verify the recovery as a chain
// step and re-sign under it, and the run continues in C'. The oracles span it: a
// replayed batch must be the one decided at its sequence number (agreement), each
// operation executes once (integrity: the client table travels in the snapshot), and
// no result a client accepted before the restart is lost (checkDurable).

// wholeRestartDue reports whether the run's parameters place a whole-cluster restart
// at the current safety step.
func (s *sim) wholeRestartDue() bool {
	for _, at := range s.p.WholeRestarts {
		if at == s.step {
			return true
		}
	}
	return false
}

// wholeRestart performs the move. It does nothing when the configuration has no
// members or no disk can offer a base.
func (s *sim) wholeRestart() {
	if s.cfg.Threshold < 1 || s.failure != nil {
		return
	}
	for r := range s.nodes {
		s.persistAtCrash(uint64(r))
	}
	s.breakDisk()
	var offers []offer
	var sealed *spec.SealedGroupKey
	for r := range s.nodes {
		if o, ok := s.offerOf(uint64(r)); ok {
			offers = append(offers, o)
		}
		if d := s.diskOf(uint64(r)); sealed == nil {
			sealed = d.sealed
		}
	}
	if len(offers) == 0 || sealed == nil {
		s.note("whole-cluster restart skipped: no disk offers a base of epoch %d", s.cfg.Epoch)
		return
	}
	s.stats.WholeRestarts++
	best := chooseOffer(offers)
	head := best.head
	if s.opt.Mutant == MutantToolLowHead && head > best.base.Seq {
		head = best.base.Seq + (head-best.base.Seq)/2 // the broken tool: a lower head than the disks prove
		s.stats.MutantActs++
	}
	s.logf("  whole-cluster restart in epoch %d: %d offers, replica %d's base %d, head %d", s.cfg.Epoch, len(offers), best.replica, best.base.Seq, head)
	enrs := s.killAll()
	if s.failure != nil {
		return
	}
	tmpl := s.template(enrs, head)
	if tmpl == nil {
		return
	}
	plan := s.signPlan(tmpl, best.base)
	s.recover(plan, best, head, *sealed)
}

// killAll replaces every enclave by a fresh one of the same build (Init with
// Challenge the latest configuration's digest) and returns their enrollments, by
// replica and role. Every open admission and rejuvenation ends with the enclaves.
func (s *sim) killAll() [][3]spec.Enrollment {
	enrs := make([][3]spec.Enrollment, len(s.nodes))
	for r := range s.nodes {
		for role, nd := range s.nodes[r] {
			nd.gen++
			seed := enclaveSeed(s.opt.Seed, nd.id.Role, nd.id.Replica, nd.gen)
			var app exec.Application
			nd.app, nd.shadow = nil, nil
			if nd.id.Role == spec.RoleExec {
				nd.app, nd.shadow = newRecApp(), newExecShadow()
				app = nd.app
			}
			in := s.newInstance(nd.build, seed, app)
			in.name = fmt.Sprintf("%s#%d", nd.id, nd.gen)
			raw, err := in.initialize(spec.Encode(&spec.InitRequest{Role: nd.id.Role, Replica: nd.id.Replica, Challenge: s.cd}))
			if err != nil || spec.Decode(raw, &enrs[r][role], spec.MaxMessageBytes) != nil {
				s.fail("recovery", "fresh %s failed Init: %v", nd.id, err)
				return nil
			}
			nd.inst, nd.twin, nd.twinApp, nd.byz, nd.mut, nd.adm, nd.fresh = in, nil, nil, nil, nil, nil, nil
			nd.restarted, nd.retired, nd.silenced, nd.epoch = true, false, false, s.latest()
			nd.key, nd.box = enclaveKeys(seed)
			nd.status = spec.Status{Role: nd.id.Role, Replica: nd.id.Replica}
		}
	}
	s.admissions, s.admin.carrying = map[spec.Digest]*admission{}, nil
	s.splits, s.splitOrder, s.lags = map[[2]uint64]split{}, nil, map[[2]uint64]lag{}
	return enrs
}

// template is the members' tool's C': the latest configuration with every enrollment
// replaced by the fresh ones, the next epoch, Prev its digest, StartSeq the head and
// StartState zero (SPEC §17.8).
func (s *sim) template(enrs [][3]spec.Enrollment, head uint64) *spec.Config {
	var t spec.Config
	if err := spec.Decode(spec.Encode(s.cfg), &t, spec.MaxMessageBytes); err != nil {
		s.fail("recovery", "the configuration does not decode: %v", err)
		return nil
	}
	t.Epoch, t.Prev, t.StartSeq, t.StartState = s.cfg.Epoch+1, s.cd, head, spec.Digest{}
	for r := range t.Replicas {
		t.Replicas[r].Prep, t.Replicas[r].Conf, t.Replicas[r].Exec = enrs[r][0], enrs[r][1], enrs[r][2]
	}
	if err := t.Validate(broker.AdmitKey); err != nil {
		s.fail("recovery", "the recovery template does not validate: %v", err)
		return nil
	}
	return &t
}

// signPlan is the plan for tmpl from base, signed by the run's member under the
// latest configuration's digest.
func (s *sim) signPlan(tmpl *spec.Config, base spec.CheckpointCert) spec.RecoveryPlan {
	p := spec.RecoveryPlan{Body: spec.RecoveryPlanBody{Template: spec.Encode(tmpl), Base: base}}
	p.Sigs = []spec.MemberSig{{Member: 0, Sig: s.sign(s.member, spec.DomainRecoveryPlan, &p.Body)}}
	return p
}

// recover runs the replay at every fresh exec and routes the recovery votes until a
// recovery emerges. One exec, sometimes, is late: it replays only part of the log
// and adopts C' from the recovery another exec emitted (then it wants state transfer
// under C').
func (s *sim) recover(plan spec.RecoveryPlan, best offer, head uint64, sealed spec.SealedGroupKey) {
	late := -1
	if s.rng.IntN(3) == 0 {
		late = s.rng.IntN(len(s.nodes))
	}
	votes := map[uint64][]byte{}
	for _, r := range s.rng.Perm(len(s.nodes)) {
		d := s.diskOf(uint64(r))
		key := sealed
		if d.sealed != nil {
			key = *d.sealed // its own; a broker without one has the key its previous exec sealed
		}
		upto := head
		if r == late {
			upto = best.base.Seq + s.rng.Uint64N(head-best.base.Seq+1)
			if upto == head && head > best.base.Seq {
				upto--
			}
		}
		outs := s.replayExec(s.nodes[r][spec.RoleExec], plan, key, best, upto)
		if v := outputsOf(outs, spec.KindRecoveryVote); len(v) > 0 && r != late {
			votes[uint64(r)] = v[0]
		}
	}
	if s.failure != nil {
		return
	}
	rec := s.routeVotes(votes, late)
	if rec == nil {
		if s.failure == nil {
			s.fail("recovery", "no recovery after the replay to head %d: %d votes; %s", head, len(votes), s.statusSummary())
		}
		return
	}
	for r := range s.nodes { // the late exec, and any other whose replay stalled, adopts from the recovery
		if nd := s.nodes[r][spec.RoleExec]; !nd.status.Configured && s.failure == nil {
			s.replayStep(nd, []spec.Input{{Kind: spec.KindRecovery, Body: rec}})
		}
	}
	s.enterRecovered(rec)
}

// replayExec gives a fresh exec recover, the base snapshot's chunks and the batches
// and COMMITs of (base, upto] from its own disk or, where it lacks them, from the
// chosen one; it returns the outputs.
func (s *sim) replayExec(nd *node, plan spec.RecoveryPlan, sealed spec.SealedGroupKey, best offer, upto uint64) []spec.Output {
	rc := spec.Recover{Prev: spec.Encode(s.cfg), Plan: plan, SealedKey: sealed}
	outs := s.replayStep(nd, []spec.Input{{Kind: spec.KindRecover, Body: spec.Encode(&rc)}})
	for _, c := range best.chunks {
		outs = append(outs, s.replayStep(nd, []spec.Input{{Kind: spec.KindStateChunk, Body: c}})...)
	}
	own, chosen := s.diskOf(nd.id.Replica), s.diskOf(best.replica)
	for q := best.base.Seq + 1; q <= upto && s.failure == nil; q++ {
		r, ok := own.log[q]
		if !ok {
			r = chosen.log[q]
		}
		var ins []spec.Input
		if r.batch != nil {
			ins = append(ins, spec.Input{Kind: spec.KindBatch, Body: r.batch})
		}
		for _, c := range r.cert {
			ins = append(ins, spec.Input{Kind: spec.KindCommit, Body: c})
		}
		outs = append(outs, s.replayStep(nd, ins)...)
		if slices.Contains(nd.status.NeedBatch, r.digest) && chosen.log[q].batch != nil { // its own was forged: fetch it
			outs = append(outs, s.replayStep(nd, []spec.Input{{Kind: spec.KindBatch, Body: chosen.log[q].batch}})...)
		}
	}
	return outs
}

// replayStep runs a recovering exec and checks the oracles on it (agreement,
// validity, integrity and checkpoint agreement, as for a correct exec; it is not
// configured yet, so monotonicity waits for C').
func (s *sim) replayStep(nd *node, inputs []spec.Input) []spec.Output {
	res, ok := s.plainStep(nd.inst, inputs)
	if !ok {
		return nil
	}
	s.stats.Steps++
	s.scanSecret(nd, res.raws[0])
	st, ok := lastStatus(res.outputs)
	if !ok {
		s.fail("output-shape", "%s: no status", nd.id)
		return nil
	}
	for _, o := range res.outputs {
		if o.Kind == spec.KindReply || o.Kind == spec.KindCheckpoint {
			s.fail("recovery", "%s emitted a %s while replaying", nd.id, spec.KindName(o.Kind))
		}
	}
	if st.Last < nd.status.Last { // it adopted C' without the head's snapshot: it dropped what it replayed (§17.8)
		if ops := nd.app.take(); len(ops) > 0 {
			s.fail("integrity", "%s executed %d operations while dropping its replay", nd.id, len(ops))
		}
	} else {
		s.observeExec(nd, res, nd.status, st)
	}
	nd.status = st
	s.logStep(nd, inputs, res.codes)
	return res.outputs
}

// routeVotes delivers to every exec that voted the others' votes, and returns the
// first recovery an exec emitted (nil if none did).
func (s *sim) routeVotes(votes map[uint64][]byte, late int) []byte {
	var rec []byte
	for r := range s.nodes {
		if _, ok := votes[uint64(r)]; !ok || s.failure != nil {
			continue
		}
		var ins []spec.Input
		for q := range uint64(len(s.nodes)) {
			if v, ok := votes[q]; ok && q != uint64(r) {
				ins = append(ins, spec.Input{Kind: spec.KindRecoveryVote, Body: v})
			}
		}
		if got := outputsOf(s.replayStep(s.nodes[r][spec.RoleExec], ins), spec.KindRecovery); len(got) > 0 && rec == nil {
			rec = got[0]
		}
	}
	return rec
}

// outputsOf returns the bodies of the outputs of kind k.
func outputsOf(outs []spec.Output, k uint64) [][]byte {
	var b [][]byte
	for _, o := range outs {
		if o.Kind == k {
			b = append(b, o.Body)
		}
	}
	return b
}
