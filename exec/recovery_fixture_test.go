package exec_test

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// This file builds the inputs of a whole-cluster recovery (SPEC.md §17.8): a
// cluster of C with members that ran batches 1..head with real signatures, the base
// certificate and its snapshot's chunks served by an exec of C, the group key sealed
// by an exec of C, fresh execs (and fresh prep and conf keys) for C', the template and
// the member-signed plan.

// recCluster is a governed cluster of C prepared for a recovery.
type recCluster struct {
	*govCluster
	reqs      map[uint64]spec.Request // the one request of the batch at each s
	head      uint64
	headState spec.Digest // the state digest of the execs of C at the head
	base      spec.CheckpointCert
	chunks    []spec.Input // the base snapshot's chunks, served by exec 0 of C
	sealed    spec.SealedGroupKey
	fresh     []*exec.Exec
	freshEnr  []spec.Enrollment
	newConf   []ed25519.PrivateKey
	tmpl      *spec.Config
	plan      spec.RecoveryPlan
}

// newRecCluster runs batches 1..head (one put of key k<s> each) at every exec of C
// and prepares a recovery from the checkpoint at base (0: the genesis) to head.
func newRecCluster(t *testing.T, seed, base, head uint64) *recCluster {
	t.Helper()
	r := &recCluster{govCluster: newGovCluster(t, seed), reqs: map[uint64]spec.Request{}, head: head}
	r.base = r.cfg.GenesisCert()
	for s := uint64(1); s <= head; s++ {
		cl := r.clients[int(s)%len(r.clients)]
		r.reqs[s] = r.kvRequest(cl, put(fmt.Sprintf("k%d", s), fmt.Sprintf("v%d", s)))
		for i := range r.execs {
			r.order(uint64(i), s, r.reqs[s])
		}
		if s == base {
			_, d := r.execs[0].StateDigestAt()
			r.base = spec.CheckpointCert{Seq: s, State: d}
			for x := uint64(0); x < 3; x++ {
				r.base.Proof = append(r.base.Proof, r.checkpointMsg(x, s, d))
			}
		}
	}
	_, r.headState = r.execs[0].StateDigestAt()
	if base > 0 {
		r.chunks = r.serve(0, r.base.Seq, r.base.State)
	}
	var sk spec.SealedGroupKey
	mustDecode(t, ofKind(expectAccept(t, r.execs[1], in(spec.KindSealKey, &spec.SealGet{})), spec.KindSealedKey)[0].Body, &sk)
	r.sealed = sk
	r.freshCluster(t)
	r.plan = r.signPlan(r.tmpl, r.base, 0, 1)
	return r
}

// serve returns the chunks exec i of C sends itself for the snapshot (seq, state).
func (r *recCluster) serve(i, seq uint64, state spec.Digest) []spec.Input {
	var out []spec.Input
	req := spec.StateRequest{Seq: seq, State: state, Replica: i}
	for _, o := range ofKind(expectAccept(r.t.(*testing.T), r.execs[i], in(spec.KindStateRequest, &req)), spec.KindStateChunk) {
		out = append(out, spec.Input{Kind: spec.KindStateChunk, Body: o.Body})
	}
	return out
}

// freshCluster starts a fresh exec per replica (Challenge cd), fresh prep and conf
// keys, and the template: C with every enrollment replaced, Epoch + 1, Prev cd,
// StartSeq the head, StartState zero.
func (r *recCluster) freshCluster(t *testing.T) {
	var tmpl spec.Config
	mustDecode(t, r.cfgRaw, &tmpl)
	tmpl.Epoch, tmpl.Prev, tmpl.StartSeq, tmpl.StartState = r.cfg.Epoch+1, r.cd, r.head, spec.Digest{}
	for i := uint64(0); i < r.n; i++ {
		x, enr := r.freshExec(i, 1000+i)
		r.fresh, r.freshEnr = append(r.fresh, x), append(r.freshEnr, enr)
		conf := ed25519.NewKeyFromSeed(readN(r.rnd, 32))
		r.newConf = append(r.newConf, conf)
		cb := spec.EnrollmentBody{Role: spec.RoleConf, Replica: i, Build: []byte("conf-t")}
		copy(cb.SignKey[:], conf.Public().(ed25519.PublicKey))
		dev := spec.Evidence{Format: spec.EvidenceDevInsecure}
		tmpl.Replicas[i].Prep = spec.Enrollment{Body: enrollmentBody(r.rnd, spec.RolePrep, i, "prep-t"), Evidence: dev}
		tmpl.Replicas[i].Conf = spec.Enrollment{Body: cb, Evidence: dev}
		tmpl.Replicas[i].Exec = enr
	}
	r.tmpl = &tmpl
}

// signPlan is the plan for tmpl from base signed by members ms under cd.
func (r *recCluster) signPlan(tmpl *spec.Config, base spec.CheckpointCert, ms ...uint64) spec.RecoveryPlan {
	p := spec.RecoveryPlan{Body: spec.RecoveryPlanBody{Template: spec.Encode(tmpl), Base: base}}
	for _, m := range ms {
		p.Sigs = append(p.Sigs, spec.MemberSig{Member: m, Sig: r.sign(r.members[m], spec.DomainRecoveryPlan, &p.Body)})
	}
	return p
}

// recoverInput is the recover input with plan and the sealed key of C.
func (r *recCluster) recoverInput(plan spec.RecoveryPlan) spec.Input {
	return in(spec.KindRecover, &spec.Recover{Prev: r.cfgRaw, Plan: plan, SealedKey: r.sealed})
}

// replayInputs returns the batch and q COMMITs (signed by the confs of C) of every
// sequence number in (from, to].
func (r *recCluster) replayInputs(from, to uint64) []spec.Input {
	var ins []spec.Input
	for s := from + 1; s <= to; s++ {
		bi, d := batchInput(r.reqs[s])
		ins = append(append(ins, bi), r.commitInputs(0, s, d)...)
	}
	return ins
}

// replay gives fresh exec i recover, the base chunks, the votes (before its own is
// made) and the log to the head, checks that it answered nobody and signed no
// checkpoint, and returns its recovery vote and its outputs.
func (r *recCluster) replay(t *testing.T, i uint64, votes ...spec.Input) (spec.Input, []spec.Output) {
	t.Helper()
	ins := append(append([]spec.Input{r.recoverInput(r.plan)}, votes...), r.chunks...)
	outs := expectAccept(t, r.fresh[i], append(ins, r.replayInputs(r.base.Seq, r.head)...)...)
	for _, k := range []uint64{spec.KindReply, spec.KindCheckpoint, spec.KindTransferSummary, spec.KindEpochVote} {
		if len(ofKind(outs, k)) != 0 {
			t.Fatalf("replaying exec %d emitted %s:%s", i, spec.KindName(k), describe(outs))
		}
	}
	v := ofKind(outs, spec.KindRecoveryVote)
	if len(v) != 1 || v[0].To.Roles != spec.ToExec || len(v[0].To.Replicas) != int(r.n) {
		t.Fatalf("exec %d: want one recovery-vote to every exec:%s", i, describe(outs))
	}
	if st := status(t, outs); len(votes) == 0 && (st.Configured || st.Last != r.head || st.NeedState || st.Stable != r.base.Seq) {
		t.Fatalf("exec %d replay status %+v", i, st)
	}
	return spec.Input{Kind: spec.KindRecoveryVote, Body: v[0].Body}, outs
}

// enterC1 makes the test cluster follow the recovery into C': the new digest, the
// fresh execs and conf keys.
func (r *recCluster) enterC1(t *testing.T, next *spec.Config) {
	r.setConfig(next)
	for i := uint64(0); i < r.n; i++ {
		k, err := testcluster.DeriveKeys(execRand(r.seed, 1000+1000+i), spec.RoleExec)
		if err != nil {
			t.Fatal(err)
		}
		r.execs[i], r.enr[i] = r.fresh[i], r.freshEnr[i]
		r.execSig[i], r.execBox[i], r.conf[i] = k.Sign, k.Box[:], r.newConf[i]
	}
}

// freshStandalone is a fresh exec for replica i outside the template, with opts,
// and its enrollment.
func (r *recCluster) freshStandalone(i, label uint64, opts ...exec.Option) (*exec.Exec, spec.Enrollment) {
	x := exec.New(execRand(r.seed, 5000+label), kv.New(), opts...)
	raw, err := x.Init(spec.Encode(&spec.InitRequest{Role: spec.RoleExec, Replica: i, Challenge: r.cd}))
	if err != nil {
		r.t.Fatal(err)
	}
	var enr spec.Enrollment
	mustDecode(r.t, raw, &enr)
	return x, enr
}
