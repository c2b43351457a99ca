package exec_test

import (
	"bytes"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// This file runs whole-cluster recoveries through four fresh execs (SPEC.md §17.8):
// the replay of a certified log from a base to the head, the recovery votes, the
// recovery every exec emits, and the ordinary epoch of C' that follows.

// TestRecoveryEndToEnd: fresh execs recover from C's log (from a stable checkpoint by
// state transfer, or from the genesis across a checkpoint), all emit the same
// Recovery, which spec.VerifyRecovery accepts with StartState the state the execs of C
// had at the head; afterwards a read of a key written before the crash executes in C'.
func TestRecoveryEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, head uint64
	}{
		{"from checkpoint 10 to 13", 10, 13},
		{"from the genesis across checkpoint 10 to 12", 0, 12},
		{"head at the base", 10, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecCluster(t, 300+tc.head+tc.base, tc.base, tc.head)
			// Execs 0..2 replay, then exchange votes; exec 3 gets theirs before it
			// reaches the head, so that every exec's q lowest votes are 0, 1, 2.
			var votes []spec.Input
			for i := uint64(0); i < 3; i++ {
				v, _ := r.replay(t, i)
				votes = append(votes, v)
			}
			recs := make([][]spec.Output, r.n)
			_, recs[3] = r.replay(t, 3, votes...)
			for i := uint64(0); i < 3; i++ {
				var others []spec.Input
				for j := range votes {
					if uint64(j) != i {
						others = append(others, votes[j])
					}
				}
				recs[i] = expectAccept(t, r.fresh[i], others...)
			}
			var raw []byte
			for i, outs := range recs {
				rc := ofKind(outs, spec.KindRecovery)
				if len(rc) != 1 || rc[0].To.Roles != 0 || len(rc[0].To.Replicas) != 0 {
					t.Fatalf("exec %d: want one recovery for its broker:%s", i, describe(outs))
				}
				if raw == nil {
					raw = rc[0].Body
				} else if !bytes.Equal(raw, rc[0].Body) {
					t.Fatalf("exec %d emitted another recovery", i)
				}
				if st := status(t, outs); !st.Configured || st.Stable != r.head || st.Last != r.head || st.NeedState {
					t.Fatalf("exec %d after adoption: %+v", i, st)
				}
			}
			var rec spec.Recovery
			mustDecode(t, raw, &rec)
			next, _, err := spec.VerifyRecovery(r.cfg, r.cd, &rec, edVerify, nil)
			if err != nil {
				t.Fatalf("the recovery does not verify: %v", err)
			}
			if next.StartSeq != r.head || next.StartState != r.headState {
				t.Fatalf("C' starts at (%d, %x), want (%d, %x)", next.StartSeq, next.StartState, r.head, r.headState)
			}
			r.enterC1(t, next)
			cl := r.clients[0]
			for i, o := range r.orderAll([]uint64{0, 1, 2, 3}, r.head+1, r.kvRequest(cl, get("k3"))) {
				r.wantResult(t, o, spec.Result{Status: spec.StatusOK, Value: []byte("v3")})
				if st := status(t, o); st.Last != r.head+1 {
					t.Fatalf("exec %d in C': %+v", i, st)
				}
			}
		})
	}
}

// TestRecoveryInput: an exec that did not reach the head adopts C' from the recovery
// another exec emitted and gets the state by transfer under C'; an exec that did
// reach it adopts its own snapshot; afterwards the four are ordinary execs of C'
// (replies, a checkpoint at the next multiple of K).
func TestRecoveryInput(t *testing.T) {
	r := newRecCluster(t, 411, 10, 13)
	var votes []spec.Input
	for i := uint64(0); i < 2; i++ {
		v, _ := r.replay(t, i)
		votes = append(votes, v)
	}
	v2, outs := r.replay(t, 2, votes...)
	rc := ofKind(outs, spec.KindRecovery)
	if len(rc) != 1 {
		t.Fatalf("exec 2: no recovery:%s", describe(outs))
	}
	recIn := spec.Input{Kind: spec.KindRecovery, Body: rc[0].Body}
	// Exec 1 reached the head (it voted): the recovery makes it adopt its snapshot.
	if st := status(t, expectAccept(t, r.fresh[1], recIn)); !st.Configured || st.Last != 13 || st.NeedState {
		t.Fatalf("exec 1 after the recovery: %+v", st)
	}
	expectAccept(t, r.fresh[0], votes[1], v2)
	// Exec 3 replayed only to 11: it adopts and wants the state of C' by transfer.
	x := r.fresh[3]
	expectAccept(t, x, append(append([]spec.Input{r.recoverInput(r.plan)}, r.chunks...), r.replayInputs(10, 11)...)...)
	if st := status(t, expectAccept(t, x, recIn)); !st.Configured || st.Stable != 13 || st.Last != 0 || !st.NeedState {
		t.Fatalf("exec 3 after the recovery: %+v", st)
	}
	expectReject(t, x, recIn, spec.CodeStale)
	var rec spec.Recovery
	mustDecode(t, rc[0].Body, &rec)
	var next spec.Config
	mustDecode(t, rec.Config, &next)
	r.enterC1(t, &next)
	r.transfer(t, 0, x, 3, 13, next.StartState)
	for s := uint64(14); s <= 20; s++ {
		for i, o := range r.orderAll([]uint64{0, 1, 2, 3}, s, r.kvRequest(r.clients[1], put("after", "x"))) {
			r.wantResult(t, o, spec.Result{Status: spec.StatusOK})
			if cps := ofKind(o, spec.KindCheckpoint); (s == 20) != (len(cps) == 1) {
				t.Fatalf("exec %d at %d: checkpoints %d:%s", i, s, len(cps), describe(o))
			}
		}
	}
	_, enr := r.freshExec(0, 77) // challenge: the digest of C'
	r.attestAll(t, &enr)
}

// TestReplayAcrossConfigOp: a config operation committed below the head (the old
// epoch ended there, but every enclave stopped before its epoch change was certified)
// does not stop a replay: its pending configuration is dropped (the template is C'),
// and the batches committed after it execute, so that the replay reaches the head and
// the execs vote (§17.8). Before the rule, the replay stopped at the config operation
// and never voted, and the recovery could not complete.
func TestReplayAcrossConfigOp(t *testing.T) {
	const seed = 411
	r := newRecCluster(t, seed, 0, 4)
	cl := r.clients[0]
	r.reqs[5] = r.configOpRequest(cl, r.proposal([]uint64{0, 1}, spec.Change{Op: spec.ChangeSetAddress, Replica: 2, Address: []byte("10.9.9.9:7000")}))
	r.reqs[6] = r.kvRequest(cl, put("after", "config-op"))
	r.head = 6
	r.tmpl.StartSeq = r.head
	r.plan = r.signPlan(r.tmpl, r.base, 0, 1)
	var votes []spec.Input
	for i := uint64(0); i < 3; i++ {
		v, _ := r.replay(t, i) // fails unless the replay reaches the head and votes
		votes = append(votes, v)
	}
	var recs [][]spec.Output
	for i := uint64(0); i < 3; i++ {
		var others []spec.Input
		for j := range votes {
			if uint64(j) != i {
				others = append(others, votes[j])
			}
		}
		recs = append(recs, expectAccept(t, r.fresh[i], others...))
	}
	var rec spec.Recovery
	rc := ofKind(recs[0], spec.KindRecovery)
	if len(rc) != 1 {
		t.Fatalf("seed %d: exec 0 made no recovery:%s", seed, describe(recs[0]))
	}
	mustDecode(t, rc[0].Body, &rec)
	next, _, err := spec.VerifyRecovery(r.cfg, r.cd, &rec, edVerify, nil)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if string(next.Replicas[2].Address) == "10.9.9.9:7000" {
		t.Fatalf("seed %d: the replayed proposal changed C'; the template governs", seed)
	}
	r.enterC1(t, next)
	for i, o := range r.orderAll([]uint64{0, 1, 2}, r.head+1, r.kvRequest(cl, get("after"))) {
		if i == 3 {
			continue // exec 3 did not replay
		}
		if st := status(t, o); st.Last != r.head+1 {
			t.Fatalf("seed %d: exec %d in C': %+v", seed, i, st)
		}
		r.wantResult(t, o, spec.Result{Status: spec.StatusOK, Value: []byte("config-op")})
	}
}
