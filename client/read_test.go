package client

import (
	"errors"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// readReply plays exec r answering read id at sequence number last.
func (fx *fixture) readReply(r, id, last uint64, res ...spec.Result) []byte {
	k, err := replyKey(fx.execBox[r], fx.id.BoxKey(), fx.cd, fx.id.ID, r)
	if err != nil {
		panic(err)
	}
	nonce, _ := readNonce(fx.rnd)
	ct := seal(k, nonce, spec.Encode(&spec.ReadResults{Results: res}), spec.ReadReplyAD(fx.cd, fx.id.ID, id, r, last, 0))
	return spec.Encode(&spec.ReadReply{Client: fx.id.ID, ReadID: id, Replica: r, Last: last, Nonce: nonce, Ciphertext: ct})
}

// TestPendingRead checks the client side of SPEC.md §16.6 for f = 1: the READ opens at
// the exec side with the read ad; 2f+1 equal results at one Last decide; equal results
// at different Lasts, a forged or foreign reply, or a repeated replica do not; and
// Hopeless says when no decision can come.
func TestPendingRead(t *testing.T) {
	fx := newFixture(t, 1, 61)
	s := fx.session(t)
	p, raw, err := s.NewRead([][]byte{GetOp([]byte("k"))})
	if err != nil {
		t.Fatal(err)
	}
	var m spec.Read
	if err := spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindRead)); err != nil || m.Client != fx.id.ID || len(m.Ops) != 1 {
		t.Fatalf("read %+v: %v", m, err)
	}
	k, _ := requestKey(fx.groupKey, fx.id.BoxKey(), fx.cd, fx.id.ID)
	if pt, err := open(k, m.Ops[0].Nonce, m.Ops[0].Ciphertext, spec.ReadOpAD(fx.cd, fx.id.ID, m.ReadID, 0)); err != nil || string(pt) != string(GetOp([]byte("k"))) {
		t.Fatalf("read op does not open at the exec side: %v", err)
	}
	id := m.ReadID
	steps := []struct {
		raw      []byte
		wantErr  error
		done     bool
		hopeless bool
	}{
		{fx.readReply(0, id, 5, ok("a")), nil, false, false},
		{fx.readReply(0, id, 5, ok("a")), ErrDuplicateReplica, false, false},
		{fx.readReply(1, id+1, 5, ok("a")), ErrUnknownTimestamp, false, false},
		{fx.readReply(1, id, 6, ok("a")), nil, false, false}, // same value, another state
		{append(fx.readReply(2, id, 5, ok("a"))[:60], 0), ErrMalformedReply, false, false},
		{fx.readReply(2, id, 5, ok("b")), nil, false, true}, // no group can reach 3 now
		{fx.readReply(3, id, 5, ok("a")), nil, false, true},
	}
	for i, st := range steps {
		_, done, err := p.Handle(st.raw)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) || done != st.done || p.Hopeless() != st.hopeless {
			t.Fatalf("step %d: err %v done %v hopeless %v; want %v %v %v", i, err, done, p.Hopeless(), st.wantErr, st.done, st.hopeless)
		}
	}
	p, raw, _ = s.NewRead([][]byte{GetOp([]byte("k"))})
	_ = spec.Decode(raw, &m, spec.MaxBodyBytes(spec.KindRead))
	for r := uint64(0); r < 3; r++ {
		res, done, err := p.Handle(fx.readReply(r, m.ReadID, 9, ok("v")))
		if err != nil || done != (r == 2) || (done && string(res[0].Value) != "v") {
			t.Fatalf("replica %d: %v %v %+v", r, err, done, res)
		}
	}
	if err := s.SetQuorum(4); err == nil {
		t.Fatal("quorum 4 > 2f+1 accepted")
	}
}

// TestQuorumTwoFPlusOne checks SetQuorum(2f+1) (SPEC.md §16.6 FR2): f+1 equal results
// no longer decide an operation; 2f+1 do.
func TestQuorumTwoFPlusOne(t *testing.T) {
	fx := newFixture(t, 1, 62)
	s := fx.session(t)
	if err := s.SetQuorum(3); err != nil {
		t.Fatal(err)
	}
	_, ts, err := s.Prepare([][]byte{GetOp([]byte("a"))})
	if err != nil {
		t.Fatal(err)
	}
	for r, wantDone := range []bool{false, false, true} {
		_, done, err := s.HandleReply(fx.reply(uint64(r), ts, 0, ok("A")))
		if err != nil || done != wantDone {
			t.Fatalf("reply %d: done %v err %v, want done %v", r, done, err, wantDone)
		}
	}
}
