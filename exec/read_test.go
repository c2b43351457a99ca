package exec_test

import (
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// sealRead seals plaintexts as the ops of read id of client cl (SPEC.md §16.6).
func (c *cluster) sealRead(cl *client, id uint64, plains ...[]byte) spec.Read {
	m := spec.Read{Client: cl.id, ReadID: id}
	for j, p := range plains {
		n := c.nonce()
		ad := cat([]byte("splitbft/v1/read-op"), []byte{0}, c.cd[:], spec.U64(cl.id), spec.U64(id), spec.U64(uint64(j)))
		m.Ops = append(m.Ops, spec.SealedOp{Nonce: n, Ciphertext: xseal(c.requestKey(cl), n, p, ad)})
	}
	return m
}

// openRead opens a READ-REPLY as client cl would.
func (c *cluster) openRead(t *testing.T, cl *client, rep *spec.ReadReply) []spec.Result {
	t.Helper()
	r := rep.Replica
	key := kdf(mustX25519(cl.boxPriv, c.enr[r].Body.BoxKey[:]), c.cd[:], []byte("splitbft/v1/reply-key"), spec.U64(cl.id), spec.U64(r))
	ad := cat([]byte("splitbft/v1/read-reply"), []byte{0}, c.cd[:], spec.U64(rep.Client), spec.U64(rep.ReadID), spec.U64(r), spec.U64(rep.Last), spec.U64(rep.View))
	plain, err := xopen(key, rep.Nonce, rep.Ciphertext, ad)
	if err != nil {
		t.Fatalf("read reply does not open: %v", err)
	}
	var res spec.ReadResults
	mustDecode(t, plain, &res)
	return res.Results
}

// TestRead checks the fast read path at exec (SPEC.md §16.6): X1–X3, results of
// read-only operations on the current state with lastExec, BadOp for an operation that
// is not read-only, Undecryptable for one sealed under another read id, and no change
// of state.
func TestRead(t *testing.T) {
	c := newCluster(t, 21, defaultParams())
	a := c.clients[0]
	c.order(0, 1, c.kvRequest(a, put("x", "1")))
	strlen := spec.Encode(&spec.KVOp2{Op: spec.KVStrlen, Keys: [][]byte{[]byte("x")}})
	rd := c.sealRead(a, 99, enc(get("x")), enc(get("nope")), strlen, enc(put("x", "2")))
	bad := c.sealRead(a, 98, enc(get("x")))
	rd.Ops = append(rd.Ops, bad.Ops[0]) // sealed for read 98: does not open as op 4 of read 99
	before := status(t, c.step(0))
	outs := c.step(0, in(spec.KindRead, &rd))
	reps := ofKind(outs, spec.KindReadReply)
	if len(reps) != 1 || len(rejections(outs)) != 0 {
		t.Fatalf("want one read reply:%s", describe(outs))
	}
	var rep spec.ReadReply
	mustDecode(t, reps[0].Body, &rep)
	if rep.Client != a.id || rep.ReadID != 99 || rep.Replica != 0 || rep.Last != 1 || reps[0].To.Roles != 0 {
		t.Fatalf("read reply header %+v to %+v", rep, reps[0].To)
	}
	got := c.openRead(t, a, &rep)
	want := []spec.Result{{Status: spec.StatusOK, Value: []byte("1")}, {Status: spec.StatusNotFound}, {Status: spec.StatusOK, Value: []byte("1")},
		{Status: spec.StatusBadOp}, {Status: spec.StatusUndecryptable}}
	if !sameEnc(&spec.ReadResults{Results: got}, &spec.ReadResults{Results: want}) {
		t.Fatalf("results %+v, want %+v", got, want)
	}
	if after := status(t, outs); !sameEnc(&after, &before) {
		t.Fatalf("a read changed the status: %+v → %+v", before, after)
	}
	// The put inside the read did not execute.
	rd7 := c.sealRead(a, 7, enc(get("x")))
	outs = c.step(0, in(spec.KindRead, &rd7))
	mustDecode(t, ofKind(outs, spec.KindReadReply)[0].Body, &rep)
	if r := c.openRead(t, a, &rep); string(r[0].Value) != "1" {
		t.Fatalf("value after a read carrying a put: %+v", r)
	}
	for name, tc := range map[string]struct {
		m    spec.Read
		code uint64
	}{
		"X1 unknown client": {spec.Read{Client: 12345, ReadID: 1, Ops: rd.Ops[:1]}, spec.CodeUnknownSender},
		"X2 no ops":         {spec.Read{Client: a.id, ReadID: 1}, spec.CodeBatchLimit},
		"X3 short op":       {spec.Read{Client: a.id, ReadID: 1, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 16)}}}, spec.CodeBatchLimit},
	} {
		outs := c.step(0, in(spec.KindRead, &tc.m))
		if rj := rejections(outs); len(rj) != 1 || rj[0].Code != tc.code || len(ofKind(outs, spec.KindReadReply)) != 0 {
			t.Errorf("%s: got%s, want reject %s", name, describe(outs), spec.CodeName(tc.code))
		}
	}
}

func enc(o spec.KVOp) []byte { return spec.Encode(&o) }
