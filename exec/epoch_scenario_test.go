package exec_test

import (
	"bytes"
	"crypto/ed25519"
	"math/rand/v2"
	"testing"

	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/internal/testcluster"
	"github.com/splitbft/splitbft/spec"
)

// This file runs whole epoch changes through four real execs (SPEC.md §17.3–§17.5):
// an admission that replaces exec 3 by a freshly started instance, and a governance
// proposal that registers a client.

// epochRun is the outcome of ending an epoch at every exec.
type epochRun struct {
	next   spec.Config   // C' as carried by the epoch changes (identical at every exec)
	raw    []byte        // its encoding
	shares []spec.Output // group-key-shares outputs, by exec
}

// orderAll orders reqs at seq at every exec in execs and returns each one's outputs.
func (c *cluster) orderAll(execs []uint64, seq uint64, reqs ...spec.Request) [][]spec.Output {
	out := make([][]spec.Output, c.n)
	for _, i := range execs {
		out[i] = c.order(i, seq, reqs...)
	}
	return out
}

// exchangeVotes gives every exec the votes of the two lowest other execs (so q = 3
// votes, own included) and requires one identical EPOCH-CHANGE from each.
func (c *cluster) exchangeVotes(t *testing.T, outs [][]spec.Output) epochRun {
	t.Helper()
	var votes []spec.Input
	for i := range c.execs {
		v := ofKind(outs[i], spec.KindEpochVote)
		if len(v) != 1 || v[0].To.Roles != spec.ToExec || len(v[0].To.Replicas) != int(c.n) {
			t.Fatalf("exec %d: want one epoch-vote to every exec:%s", i, describe(outs[i]))
		}
		votes = append(votes, spec.Input{Kind: spec.KindEpochVote, Body: v[0].Body})
	}
	var run epochRun
	for i := range c.execs {
		var others []spec.Input
		for j := range votes {
			if j != i && len(others) < 2 {
				others = append(others, votes[j])
			}
		}
		res := expectAccept(t, c.execs[i], others...)
		ec := ofKind(res, spec.KindEpochChange)
		if len(ec) != 1 || ec[0].To.Roles != spec.ToPrep|spec.ToConf|spec.ToExec {
			t.Fatalf("exec %d: want one epoch-change to every compartment:%s", i, describe(res))
		}
		var m spec.EpochChange
		mustDecode(t, ec[0].Body, &m)
		if run.raw == nil {
			run.raw = m.Config
			mustDecode(t, m.Config, &run.next)
		} else if !bytes.Equal(run.raw, m.Config) {
			t.Fatalf("exec %d changed to another configuration", i)
		}
		if _, err := spec.VerifyEpochChange(c.cfg, c.cd, c.cfg.StartSeq, &m, edVerify, nil); err != nil {
			t.Fatalf("exec %d: its epoch change does not verify: %v", i, err)
		}
		run.shares = append(run.shares, ofKind(res, spec.KindGroupKeyShares)...)
	}
	return run
}

// edVerify is Ed25519 verification for spec.VerifyEpochChange.
func edVerify(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}

// TestEpochAdmission: exec 3 is replaced by a fresh instance admitted through q
// attestations; the epoch ends at the admission's sequence number at every exec; the
// new exec gets a share and the state, and the next request executes at all four.
func TestEpochAdmission(t *testing.T) {
	c := newCluster(t, 41, defaultParams())
	all := []uint64{0, 1, 2, 3}
	nx, enr := c.freshExec(3, 1)
	if enr.Evidence.Format != spec.EvidenceDevInsecure {
		t.Fatalf("fresh exec evidence %+v", enr.Evidence)
	}
	adm := spec.Admission{Enrollment: enr, Attestations: c.attestAll(t, &enr)[:3]}
	req := c.configOpRequest(c.clients[0], admitOp(adm))
	outs := c.orderAll(all, 1, req)
	_, state := c.execs[0].StateDigestAt()
	for i := range all {
		c.wantResult(t, outs[i], accepted(1))
	}
	// A request ordered at 2 in the old epoch never executes under it (§17.3).
	cl1 := c.clients[1]
	ts := cl1.nextTS
	late := c.kvRequest(cl1, put("late", "v"))
	if res := c.order(0, 2, late); len(ofKind(res, spec.KindReply)) != 0 || status(t, res).Last != 1 {
		t.Fatalf("executed above the end of the epoch:%s", describe(res))
	}
	run := c.exchangeVotes(t, outs)
	n := &run.next
	if n.Epoch != 1 || n.Prev != c.cd || n.StartSeq != 1 || n.StartState != state {
		t.Fatalf("C' epoch %d prev %x start (%d, %x), want 1 %x (1, %x)", n.Epoch, n.Prev, n.StartSeq, n.StartState, c.cd, state)
	}
	if !sameEnc(&n.Replicas[3].Exec, &enr) || !sameEnc(&n.Replicas[2].Exec, &c.cfg.Replicas[2].Exec) {
		t.Fatalf("C' exec slots %+v", n.Replicas)
	}
	if len(run.shares) != 3 { // execs 0..2 deal to the new exec; exec 3 retired
		t.Fatalf("%d group-key-shares outputs, want 3", len(run.shares))
	}
	for i := uint64(0); i < 3; i++ {
		if st := status(t, c.step(i)); st.Stable != 1 || st.Last != 1 || st.NeedState || st.View != 0 {
			t.Fatalf("exec %d after adoption: %+v", i, st)
		}
	}
	old := c.execs[3]
	expectReject(t, old, in(spec.KindAttest, &enr), spec.CodeRetired)
	if st := status(t, stepRaw(t, old, spec.Encode(&spec.StepInput{}))); !st.Configured || st.Last != 1 {
		t.Fatalf("retired status %+v", st)
	}

	// The new exec: configured with C' and exec 0's share, it wants the state at once.
	var gs spec.GroupKeyShares
	mustDecode(t, run.shares[0].Body, &gs)
	cfg := expectAccept(t, nx, in(spec.KindConfigure, &spec.Configure{Config: run.raw, Share: gs.Shares}))
	if st := status(t, cfg); st.Stable != 1 || st.Last != 0 || !st.NeedState {
		t.Fatalf("new exec status %+v", st)
	}
	c.adoptEpoch(run, 3, nx, 1)
	c.transfer(t, 0, nx, 3, 1, state)

	// The request in flight is re-sealed under the new digest with its timestamp, and
	// executes at StartSeq+1 at all four.
	cl1.nextTS = ts
	again := c.kvRequest(cl1, put("late", "v"))
	for i, o := range c.orderAll(all, 2, again) {
		c.wantResult(t, o, spec.Result{Status: spec.StatusOK})
		if st := status(t, o); st.Last != 2 {
			t.Fatalf("exec %d status %+v", i, st)
		}
	}
	_, d0 := c.execs[0].StateDigestAt()
	for i := range c.execs {
		if _, d := c.execs[i].StateDigestAt(); d != d0 {
			t.Fatalf("exec %d state differs", i)
		}
	}
}

// adoptEpoch makes the test cluster follow run into the next epoch: the new
// configuration, and exec r replaced by x, whose stream label is label.
func (c *cluster) adoptEpoch(run epochRun, r uint64, x *exec.Exec, label uint64) {
	c.setConfig(&run.next)
	if x == nil {
		return
	}
	k, err := testcluster.DeriveKeys(execRand(c.seed, 1000+label), spec.RoleExec)
	if err != nil {
		c.t.Fatal(err)
	}
	c.execs[r], c.enr[r] = x, run.next.Replicas[r].Exec
	c.execSig[r], c.execBox[r] = k.Sign, k.Box[:]
}

// TestEpochBoundary at one exec, the others played by the test's keys: config
// operations of one batch build on each other (pending, §17.2); an epoch ending at a
// multiple of K uses the checkpoint's snapshot; nothing above it executes; a stored
// vote is replaced by its sender's later one; q votes make the epoch change, which
// then arrives as an input too late (stale).
func TestEpochBoundary(t *testing.T) {
	c := newCluster(t, 49, defaultParams())
	rnd := rand.NewChaCha8(seedBytes("boundary/%d", c.seed))
	x := c.execs[0]
	for s := uint64(1); s < 10; s++ {
		c.order(0, s, c.kvRequest(c.clients[0], put("k", "v")))
	}
	a := c.admission(spec.Enrollment{Body: enrollmentBody(rnd, spec.RoleExec, 2, exec.BuildName)}, 1, 2, 3)
	b := c.admission(spec.Enrollment{Body: enrollmentBody(rnd, spec.RoleConf, 1, "conf-t")}, 0, 1, 2)
	early := c.vote(1, spec.Digest{1})
	expectAccept(t, x, in(spec.KindEpochVote, &early))
	reqs := []spec.Request{c.configOpRequest(c.clients[0], admitOp(a)), c.configOpRequest(c.clients[1], admitOp(b)),
		c.configOpRequest(c.clients[2], admitOp(a))}
	outs := c.order(0, 10, reqs...)
	res := c.results(t, outs)
	if len(res) != 3 || !sameEnc(&res[0], ptr(accepted(1))) || !sameEnc(&res[1], ptr(accepted(1))) || !sameEnc(&res[2], ptr(rejected(spec.CodeDuplicate))) {
		t.Fatalf("results %+v:%s", res, describe(outs))
	}
	cps, votes := ofKind(outs, spec.KindCheckpoint), ofKind(outs, spec.KindEpochVote)
	if len(cps) != 1 || len(votes) != 1 || len(ofKind(outs, spec.KindEpochChange)) != 0 {
		t.Fatalf("want one checkpoint and one vote, no change yet:%s", describe(outs))
	}
	var cp spec.Checkpoint
	var v spec.EpochVote
	mustDecode(t, cps[0].Body, &cp)
	mustDecode(t, votes[0].Body, &v)
	want := c.successor(10, cp.Body.State, func(n *spec.Config) {
		n.Replicas[2].Exec, n.Replicas[1].Conf = a.Enrollment, b.Enrollment
	})
	if v.Body.Next != spec.ConfigDigest(want) || v.Body.Replica != 0 {
		t.Fatalf("vote %+v is not for the configuration with both admissions from (10, %x)", v.Body, cp.Body.State)
	}
	if res := c.order(0, 11, c.kvRequest(c.clients[1], put("x", "y"))); len(ofKind(res, spec.KindReply)) != 0 || status(t, res).Last != 10 {
		t.Fatalf("executed above the end of the epoch:%s", describe(res))
	}
	v1, v2 := c.vote(1, v.Body.Next), c.vote(3, v.Body.Next)
	vouts := expectAccept(t, x, in(spec.KindEpochVote, &v1), in(spec.KindEpochVote, &v2))
	change := ofKind(vouts, spec.KindEpochChange)
	if len(change) != 1 {
		t.Fatalf("no epoch change after q votes")
	}
	// The new exec 2 gets a share of G from exec 0, and nobody else does.
	var gs spec.GroupKeyShares
	if sh := ofKind(vouts, spec.KindGroupKeyShares); len(sh) != 1 || sh[0].To.Roles != 0 {
		t.Fatalf("want one group-key-shares output:%s", describe(vouts))
	} else if mustDecode(t, sh[0].Body, &gs); len(gs.Shares) != 1 || gs.Shares[0].Recipient != a.Enrollment.Body.BoxKey ||
		gs.Shares[0].Dealer != c.enr[0].Body.BoxKey || gs.Shares[0].GroupKey != c.G {
		t.Fatalf("share %+v", gs.Shares)
	}
	var ec spec.EpochChange
	mustDecode(t, change[0].Body, &ec)
	if !bytes.Equal(ec.Config, spec.Encode(want)) || len(ec.Votes) != 3 || ec.Votes[0].Body.Replica != 0 || ec.Votes[1].Body.Replica != 1 || ec.Votes[2].Body.Replica != 3 {
		t.Fatalf("epoch change %+v", ec.Votes)
	}
	if st := status(t, c.step(0)); st.Stable != 10 || st.Last != 10 || st.NeedState {
		t.Fatalf("after the change: %+v", st)
	}
	expectReject(t, x, in(spec.KindEpochChange, &ec), spec.CodeStale)
}

// TestEpochChangeInput: the EPOCH-CHANGE one exec made is adopted by an exec that
// voted (it installs its own snapshot of StartSeq) and by one that never executed the
// config operation (it wants state transfer); both deal a share to the new exec.
func TestEpochChangeInput(t *testing.T) {
	c := newCluster(t, 50, defaultParams())
	rnd := rand.NewChaCha8(seedBytes("ecin/%d", c.seed))
	a := c.admission(spec.Enrollment{Body: enrollmentBody(rnd, spec.RoleExec, 3, exec.BuildName)}, 0, 1, 2)
	req := c.configOpRequest(c.clients[0], admitOp(a))
	outs := c.orderAll([]uint64{0, 1}, 1, req)
	var v1 spec.EpochVote
	mustDecode(t, ofKind(outs[1], spec.KindEpochVote)[0].Body, &v1)
	v2 := c.vote(2, v1.Body.Next)
	change := ofKind(expectAccept(t, c.execs[0], in(spec.KindEpochVote, &v1), in(spec.KindEpochVote, &v2)), spec.KindEpochChange)
	if len(change) != 1 {
		t.Fatalf("no epoch change at exec 0")
	}
	ecIn := spec.Input{Kind: spec.KindEpochChange, Body: change[0].Body}
	for _, tc := range []struct {
		exec       uint64
		last       uint64
		needState  bool
		sharesWant int
	}{{1, 1, false, 1}, {2, 0, true, 1}} {
		res := expectAccept(t, c.execs[tc.exec], ecIn)
		st := status(t, res)
		if st.Stable != 1 || st.Last != tc.last || st.NeedState != tc.needState || len(ofKind(res, spec.KindGroupKeyShares)) != tc.sharesWant {
			t.Fatalf("exec %d after the epoch-change input: %+v:%s", tc.exec, st, describe(res))
		}
	}
	_, d0 := c.execs[0].StateDigestAt()
	if _, d1 := c.execs[1].StateDigestAt(); d1 != d0 {
		t.Fatalf("exec 1 state %x, exec 0 %x", d1, d0)
	}
	// Exec 3, whose slot the admission replaced, accepts the change and retires.
	if res := expectAccept(t, c.execs[3], ecIn); len(ofKind(res, spec.KindGroupKeyShares)) != 0 {
		t.Fatalf("a retiring exec dealt a share:%s", describe(res))
	}
	expectReject(t, c.execs[3], ecIn, spec.CodeRetired)
}

// attestAll gives enr to every exec as attest input and returns their attestations,
// checking each is exec i's signature on the enrollment digest with an empty
// destination (§17.5 step 2).
func (c *cluster) attestAll(t *testing.T, enr *spec.Enrollment) []spec.Attestation {
	t.Helper()
	var atts []spec.Attestation
	for i := range c.execs {
		outs := expectAccept(t, c.execs[i], in(spec.KindAttest, enr))
		a := ofKind(outs, spec.KindAttestation)
		if len(a) != 1 || a[0].To.Roles != 0 || len(a[0].To.Replicas) != 0 {
			t.Fatalf("exec %d: want one attestation with an empty destination:%s", i, describe(outs))
		}
		var att spec.Attestation
		mustDecode(t, a[0].Body, &att)
		if want := c.attestation(uint64(i), &enr.Body); !sameEnc(&att, &want) {
			t.Fatalf("exec %d attestation %+v, want %+v", i, att, want)
		}
		atts = append(atts, att)
	}
	return atts
}

// transfer moves the snapshot (seq, state) from exec from to x (replica r) by state
// transfer and checks that x installed it: a transfer summary, no checkpoint for the
// epoch's start (SPEC §11.7), and the same state digest.
func (c *cluster) transfer(t *testing.T, from uint64, x *exec.Exec, r, seq uint64, state spec.Digest) {
	t.Helper()
	sreq := spec.StateRequest{Seq: seq, State: state, Replica: r}
	var chunks []spec.Input
	for _, o := range ofKind(expectAccept(t, c.execs[from], in(spec.KindStateRequest, &sreq)), spec.KindStateChunk) {
		chunks = append(chunks, spec.Input{Kind: spec.KindStateChunk, Body: o.Body})
	}
	got := expectAccept(t, x, chunks...)
	if len(ofKind(got, spec.KindTransferSummary)) != 1 || len(ofKind(got, spec.KindCheckpoint)) != 0 {
		t.Fatalf("want a transfer summary and no checkpoint for the epoch's start:%s", describe(got))
	}
	if s, d := x.StateDigestAt(); s != seq || d != state {
		t.Fatalf("new exec state (%d, %x), want (%d, %x)", s, d, seq, state)
	}
}
