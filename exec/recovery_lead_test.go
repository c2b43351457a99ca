package exec_test

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// This file tests the lead-in of a replay (SPEC.md §17.8, rule RV6): a recovery of C
// whose base is C's genesis certificate, when no snapshot of C's start state
// survives, replays the epoch before C from one of its certified states and crosses
// into C at C.StartSeq.

// leadRun is a recovery prepared after an epoch change: E1 (the cluster's first
// configuration) ran batches 1..12 and ended with a config operation at 13; C (epoch
// 2, StartSeq 13) ran 14 and 15.
type leadRun struct {
	*recCluster
	e1        *spec.Config
	e1Raw     []byte
	e1cd      spec.Digest
	lead      spec.LeadIn
	headState spec.Digest
}

func newLeadRun(t *testing.T, seed, base uint64) *leadRun {
	t.Helper()
	r := &leadRun{recCluster: newRecCluster(t, seed, base, 12)}
	r.e1, r.e1Raw, r.e1cd = r.cfg, r.cfgRaw, r.cd
	r.lead = spec.LeadIn{Configs: [][]byte{r.e1Raw}, Base: r.base}
	cl := r.clients[0]
	r.reqs[13] = r.configOpRequest(cl, r.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeSetAddress, Replica: 2, Address: []byte("10.9.9.9:7000")}))
	run := r.exchangeVotes(t, r.orderAll([]uint64{0, 1, 2, 3}, 13, r.reqs[13]))
	r.adoptEpoch(run, 0, nil, 0)
	for s := uint64(14); s <= 15; s++ {
		r.reqs[s] = r.kvRequest(r.clients[int(s)%len(r.clients)], put("e2", "v"+string(rune('0'+s-10))))
		for i, o := range r.orderAll([]uint64{0, 1, 2, 3}, s, r.reqs[s]) {
			if st := status(t, o); st.Last != s {
				t.Fatalf("seed %d: exec %d of epoch 2 did not execute %d: %+v", seed, i, s, st)
			}
		}
	}
	_, r.headState = r.execs[0].StateDigestAt()
	r.head = 15
	r.fresh, r.freshEnr, r.newConf = nil, nil, nil
	r.freshCluster(t)
	r.plan = r.signPlan(r.tmpl, r.cfg.GenesisCert(), 0, 1)
	return r
}

// forgeStart replaces C by one whose StartState is not the state epoch 1 reached at
// its StartSeq (as more than f faulty execs of epoch 1 could certify) and prepares the
// recovery of that C with head head.
func (r *leadRun) forgeStart(t *testing.T, head uint64) {
	forged := *r.cfg
	forged.StartState[0] ^= 1
	r.setConfig(&forged)
	r.head = head
	r.fresh, r.freshEnr, r.newConf = nil, nil, nil
	r.freshCluster(t)
	r.plan = r.signPlan(r.tmpl, r.cfg.GenesisCert(), 0, 1)
}

// recoverLead is the recover input for C with the given lead-ins.
func (r *leadRun) recoverLead(leads ...spec.LeadIn) spec.Input {
	return in(spec.KindRecover, &spec.Recover{Prev: r.cfgRaw, Plan: r.plan, SealedKey: r.sealed, Lead: leads})
}

// logInputs returns the batches and COMMITs of (from, to], each signed under the
// configuration in force at its seq (E1 up to 13, C above).
func (r *leadRun) logInputs(from, to uint64) []spec.Input {
	c := r.cfg
	defer r.setConfig(c)
	var ins []spec.Input
	for s := from + 1; s <= to; s++ {
		if s <= 13 {
			r.setConfig(r.e1)
		} else {
			r.setConfig(c)
		}
		bi, d := batchInput(r.reqs[s])
		ins = append(append(ins, bi), r.commitInputs(0, s, d)...)
	}
	return ins
}

// TestReplayLeadIn: fresh execs of C replay epoch 1 from its checkpoint 10 (or its
// genesis) with a lead-in, cross into C at 13 and replay C to 15; their recovery
// starts C' from the state the execs of C reached at 15, and C' serves the data of
// both epochs.
func TestReplayLeadIn(t *testing.T) {
	for _, base := range []uint64{10, 0} {
		seed := 520 + base
		r := newLeadRun(t, seed, base)
		var votes []spec.Input
		for i := uint64(0); i < 3; i++ {
			ins := append(append([]spec.Input{r.recoverLead(r.lead)}, r.chunks...), r.logInputs(base, r.head)...)
			outs := expectAccept(t, r.fresh[i], ins...)
			for _, k := range []uint64{spec.KindReply, spec.KindCheckpoint, spec.KindTransferSummary, spec.KindEpochVote} {
				if len(ofKind(outs, k)) != 0 {
					t.Fatalf("seed %d: replaying exec %d emitted %s:%s", seed, i, spec.KindName(k), describe(outs))
				}
			}
			v := ofKind(outs, spec.KindRecoveryVote)
			if len(v) != 1 {
				t.Fatalf("seed %d base %d: exec %d made no recovery vote (state %s):%s", seed, base, i, r.fresh[i].DebugState(), describe(outs))
			}
			votes = append(votes, spec.Input{Kind: spec.KindRecoveryVote, Body: v[0].Body})
		}
		outs := expectAccept(t, r.fresh[0], votes[1], votes[2])
		rc := ofKind(outs, spec.KindRecovery)
		if len(rc) != 1 {
			t.Fatalf("seed %d: exec 0 made no recovery:%s", seed, describe(outs))
		}
		var rec spec.Recovery
		mustDecode(t, rc[0].Body, &rec)
		next, _, err := spec.VerifyRecovery(r.cfg, r.cd, &rec, edVerify, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if next.StartSeq != 15 || next.StartState != r.headState {
			t.Fatalf("seed %d: C' starts at (%d, %x), want (15, %x): the lead-in did not reproduce epoch 2's state", seed, next.StartSeq, next.StartState, r.headState)
		}
		r.enterC1(t, next)
		cl := r.clients[1]
		o := r.order(0, 16, r.kvRequest(cl, get("k3")), r.kvRequest(r.clients[2], get("e2")))
		res := r.results(t, o)
		if len(res) != 2 || string(res[0].Value) != "v3" || string(res[1].Value) != "v5" {
			t.Fatalf("seed %d: C' answers %+v, want v3 (epoch 1) and v5 (epoch 2)", seed, res)
		}
	}
}

// TestReplayLeadInStuck: a C whose StartState is not the state epoch 1 reaches at its
// StartSeq (possible only with more than f faulty execs of epoch 1) stops the
// replay at the boundary: no batch of C executes and no vote is made.
func TestReplayLeadInStuck(t *testing.T) {
	const seed = 533
	r := newLeadRun(t, seed, 10)
	r.forgeStart(t, 15)
	ins := append(append([]spec.Input{r.recoverLead(r.lead)}, r.chunks...), r.logInputs(10, 13)...)
	outs := expectAccept(t, r.fresh[0], ins...)
	if len(ofKind(outs, spec.KindRecoveryVote)) != 0 {
		t.Fatalf("seed %d: voted past a state mismatch:%s", seed, describe(outs))
	}
	if st := status(t, outs); st.Last != 13 {
		t.Fatalf("seed %d: status %+v, want last 13", seed, st)
	}
	if d := r.fresh[0].DebugState(); !strings.Contains(d, "stuck=true") {
		t.Fatalf("seed %d: debug state does not say the replay is stuck at 13:\n%s", seed, d)
	}
}

// TestLeadInRules: RV6's rejections, each on a fresh exec with nothing changed.
func TestLeadInRules(t *testing.T) {
	const seed = 541
	r := newLeadRun(t, seed, 10)
	var other spec.Config
	mustDecode(t, r.e1Raw, &other)
	other.Name = []byte("another")
	badSig := r.lead
	badSig.Base.Proof = append([]spec.Checkpoint(nil), r.lead.Base.Proof...)
	badSig.Base.Proof[1].Sig[3] ^= 1
	for _, tc := range []struct {
		name  string
		leads []spec.LeadIn
		plan  *spec.RecoveryPlan
		code  uint64
	}{
		{"two lead-ins", []spec.LeadIn{r.lead, r.lead}, nil, spec.CodeBadConfig},
		{"no configuration", []spec.LeadIn{{Base: r.lead.Base}}, nil, spec.CodeBadConfig},
		{"garbage configuration", []spec.LeadIn{{Configs: [][]byte{{0x80}}, Base: r.lead.Base}}, nil, spec.CodeBadConfig},
		{"not the configuration before C", []spec.LeadIn{{Configs: [][]byte{spec.Encode(&other)}, Base: r.lead.Base}}, nil, spec.CodeBadConfig},
		{"C itself", []spec.LeadIn{{Configs: [][]byte{r.cfgRaw}, Base: r.lead.Base}}, nil, spec.CodeBadConfig},
		{"base signature", []spec.LeadIn{badSig}, nil, spec.CodeBadCertificate},
		{"base of C", []spec.LeadIn{{Configs: r.lead.Configs, Base: r.cfg.GenesisCert()}}, nil, spec.CodeBadCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := r.freshExec(0, 1000)
			expectReject(t, x, r.recoverLead(tc.leads...), tc.code)
		})
	}
}

// TestReplayLeadInStuckAtHead: with the plan's head at C.StartSeq, a crossing that
// fails the state check leaves the replay at its head without a vote.
func TestReplayLeadInStuckAtHead(t *testing.T) {
	const seed = 534
	r := newLeadRun(t, seed, 10)
	r.forgeStart(t, 13)
	ins := append(append([]spec.Input{r.recoverLead(r.lead)}, r.chunks...), r.logInputs(10, 13)...)
	outs := expectAccept(t, r.fresh[0], ins...)
	if len(ofKind(outs, spec.KindRecoveryVote)) != 0 || !strings.Contains(r.fresh[0].DebugState(), "stuck=true") {
		t.Fatalf("seed %d: a replay stuck at its head voted, or does not say it is stuck:%s\n%s", seed, describe(outs), r.fresh[0].DebugState())
	}
}

// TestReplayLeadInWindow: during the lead-in the window ends at C.StartSeq: a COMMIT
// the confs of epoch 1 signed above it (the pipeline of an epoch that ended) is out
// of window.
func TestReplayLeadInWindow(t *testing.T) {
	const seed = 535
	r := newLeadRun(t, seed, 10)
	x := r.fresh[0]
	expectAccept(t, x, append([]spec.Input{r.recoverLead(r.lead)}, r.chunks...)...)
	expectAccept(t, x, r.logInputs(10, 12)...)
	c := r.cfg
	r.setConfig(r.e1)
	_, d := batchInput(r.reqs[14])
	commits := r.commitInputs(0, 14, d)
	r.setConfig(c)
	expectReject(t, x, commits[0], spec.CodeOutOfWindow)
	if st := status(t, expectAccept(t, x)); st.Last != 12 {
		t.Fatalf("seed %d: status %+v", seed, st)
	}
}

// TestReplayLeadInSlowExec: an exec still replaying epoch 1 when the others made the
// recovery takes their vote (signed under C's digest) and adopts the recovery, and
// then wants the state of C' by transfer.
func TestReplayLeadInSlowExec(t *testing.T) {
	const seed = 536
	r := newLeadRun(t, seed, 10)
	var votes []spec.Input
	for i := uint64(0); i < 3; i++ {
		ins := append(append([]spec.Input{r.recoverLead(r.lead)}, r.chunks...), r.logInputs(10, r.head)...)
		v := ofKind(expectAccept(t, r.fresh[i], ins...), spec.KindRecoveryVote)
		if len(v) != 1 {
			t.Fatalf("seed %d: exec %d made no vote", seed, i)
		}
		votes = append(votes, spec.Input{Kind: spec.KindRecoveryVote, Body: v[0].Body})
	}
	rc := ofKind(expectAccept(t, r.fresh[0], votes[1], votes[2]), spec.KindRecovery)
	if len(rc) != 1 {
		t.Fatalf("seed %d: no recovery", seed)
	}
	slow := r.fresh[3]
	expectAccept(t, slow, append(append([]spec.Input{r.recoverLead(r.lead)}, r.chunks...), r.logInputs(10, 12)...)...)
	outs := expectAccept(t, slow, votes[1], spec.Input{Kind: spec.KindRecovery, Body: rc[0].Body})
	if st := status(t, outs); !st.Configured || !st.NeedState || st.Stable != r.head {
		t.Fatalf("seed %d: the slow exec after the recovery: %+v\n%s", seed, st, slow.DebugState())
	}
}
