package exec_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// behind is a cluster where execs 0..2 executed seqs 1..20 (with q checkpoints at 10 and
// 20 stable at each of them) and exec 3 executed nothing but learned that 20 is stable.
type behind struct {
	*cluster
	state   spec.Digest    // the certified StateDigest at 20
	last    []spec.Request // last[i]: the last request of client i
	lastKey []string       // lastKey[i]: the key of last[i]'s first op
	earlier spec.Request   // an older request of client 1
	cps     []spec.Input   // the checkpoints of execs 0..2
}

// newBehind builds the scenario; big makes the snapshot span several chunks.
func newBehind(t *testing.T, seed uint64, big bool) *behind {
	t.Helper()
	b := &behind{cluster: newCluster(t, seed, defaultParams())}
	b.last = make([]spec.Request, len(b.clients))
	b.lastKey = make([]string, len(b.clients))
	for s := uint64(1); s <= 20; s++ {
		ci := int(s) % len(b.clients)
		cl := b.clients[ci]
		var ops []spec.KVOp
		nops := 2
		if big {
			nops = 8
		}
		for j := 0; j < nops; j++ {
			v := fmt.Sprintf("v%d-%d", s, j)
			if big {
				v = strings.Repeat(v, spec.MaxKVValue/len(v))
			}
			ops = append(ops, put(fmt.Sprintf("k%d-%d", s, j), v))
		}
		req := b.kvRequest(cl, ops...)
		if ci == 1 && s < 15 {
			b.earlier = req
		}
		b.last[ci] = req
		b.lastKey[ci] = string(ops[0].Key)
		for i := uint64(0); i < 3; i++ {
			outs := b.order(i, s, req)
			for _, o := range ofKind(outs, spec.KindCheckpoint) {
				b.cps = append(b.cps, spec.Input{Kind: spec.KindCheckpoint, Body: o.Body})
				if s == 20 {
					var cp spec.Checkpoint
					mustDecode(t, o.Body, &cp)
					b.state = cp.Body.State
				}
			}
		}
	}
	for i := uint64(0); i < 4; i++ {
		for _, cp := range b.cps {
			b.step(i, cp) // own checkpoints come back as duplicates: ignored
		}
		st := status(t, b.step(i))
		if st.Stable != 20 || st.NeedState != (i == 3) {
			t.Fatalf("exec %d status %+v", i, st)
		}
	}
	return b
}

// stateRequest asks exec from for chunks starting at index, for exec 3.
func (b *behind) stateRequest(from, index uint64) []spec.StateChunk {
	outs := expectAccept(b.t.(*testing.T), b.execs[from], in(spec.KindStateRequest, &spec.StateRequest{Seq: 20, State: b.state, Replica: 3, Index: index}))
	var chunks []spec.StateChunk
	for _, o := range ofKind(outs, spec.KindStateChunk) {
		if o.To.Roles != spec.ToExec || len(o.To.Replicas) != 1 || o.To.Replicas[0] != 3 {
			b.t.Fatalf("chunk destination %+v", o.To)
		}
		var ch spec.StateChunk
		mustDecode(b.t, o.Body, &ch)
		chunks = append(chunks, ch)
	}
	return chunks
}

// TestStateTransfer moves a three-chunk snapshot from exec 0 to exec 3, checking the
// T1–T7 rejections on the way, then that exec 3 continues executing and does not
// re-execute requests already covered by the snapshot.
func TestStateTransfer(t *testing.T) {
	b := newBehind(t, 61, true)
	x0, x3 := b.execs[0], b.execs[3]
	// seq 21, stored at exec 3 before the transfer: a new request of client 2 that
	// deletes the key the last request of client 0 put, then that request again
	// (cached results re-sent; a re-execution would put the key back) and an older
	// request of client 1 (skipped).
	fresh := b.kvRequest(b.clients[2], get("k1-0"), del(b.lastKey[0]))
	seq21 := []spec.Request{fresh, b.last[0], b.earlier}
	bi, d := batchInput(seq21...)
	expectAccept(t, x3, append([]spec.Input{bi}, b.commitInputs(0, 21, d)...)...)
	// T1–T3 at the server.
	expectReject(t, x0, in(spec.KindStateRequest, &spec.StateRequest{Seq: 20, State: b.state, Replica: 4}), spec.CodeUnknownSender)
	expectReject(t, x0, in(spec.KindStateRequest, &spec.StateRequest{Seq: 10, State: b.state, Replica: 3}), spec.CodeStale)
	expectReject(t, x0, in(spec.KindStateRequest, &spec.StateRequest{Seq: 20, State: spec.Digest{1}, Replica: 3}), spec.CodeStale)
	expectReject(t, x3, in(spec.KindStateRequest, &spec.StateRequest{Seq: 20, State: b.state, Replica: 0}), spec.CodeStale) // not held
	chunks := b.stateRequest(0, 0)
	if len(chunks) != 3 || chunks[0].Count != 3 || chunks[2].Index != 2 {
		t.Fatalf("%d chunks", len(chunks))
	}
	expectReject(t, x0, in(spec.KindStateRequest, &spec.StateRequest{Seq: 20, State: b.state, Replica: 3, Index: 3}), spec.CodeBadChunk)
	if again := b.stateRequest(0, 2); len(again) != 1 || again[0].Nonce == chunks[2].Nonce {
		t.Fatal("state request from index 2 did not give one freshly sealed chunk")
	}
	// T4–T7 at the receiver.
	ch := func(c spec.StateChunk) spec.Input { return in(spec.KindStateChunk, &c) }
	tampered := chunks[0]
	tampered.Ciphertext = append([]byte{}, chunks[0].Ciphertext...)
	tampered.Ciphertext[100] ^= 1
	wrongSeq := chunks[0]
	wrongSeq.Seq = 10
	wrongState := chunks[0]
	wrongState.State = spec.Digest{3}
	huge := chunks[0]
	huge.Size, huge.Count = spec.MaxSnapshotBytes+1, 1025
	badCount := chunks[0]
	badCount.Count = 4
	badIndex := chunks[0]
	badIndex.Index = 3
	short := b.sealChunk(20, b.state, 1, chunks[1].Count, chunks[1].Size, make([]byte, 1000))
	lastLong := b.sealChunk(20, b.state, 2, chunks[2].Count, chunks[2].Size, make([]byte, len(chunks[2].Ciphertext)-15))
	expectReject(t, x0, ch(chunks[0]), spec.CodeStale) // T4: not behind
	for name, tc := range map[string]struct {
		c    spec.StateChunk
		code uint64
	}{
		"T4 seq": {wrongSeq, spec.CodeStale}, "T4 state": {wrongState, spec.CodeStale},
		"T5 size": {huge, spec.CodeBadChunk}, "T5 count": {badCount, spec.CodeBadChunk}, "T5 index": {badIndex, spec.CodeBadChunk},
		"T7 tampered": {tampered, spec.CodeBadChunk}, "T7 short": {short, spec.CodeBadChunk}, "T7 long last": {lastLong, spec.CodeBadChunk},
	} {
		t.Run(name, func(t *testing.T) { expectReject(t, x3, ch(tc.c), tc.code) })
	}
	expectAccept(t, x3, ch(chunks[2]))
	expectReject(t, x3, ch(chunks[2]), spec.CodeDuplicate) // T6
	outs := expectAccept(t, x3, ch(chunks[0]))
	if len(ofKind(outs, spec.KindReply)) != 0 || !status(t, outs).NeedState {
		t.Fatal("installed before all chunks arrived")
	}
	outs3 := expectAccept(t, x3, ch(chunks[1]))
	if st := status(t, outs3); st.NeedState || st.Last != 21 || st.Stable != 20 {
		t.Fatalf("status after install %+v", st)
	}
	// Exec 0 executes seq 21 too; both give the same results and reach the same state.
	outs0 := b.order(0, 21, seq21...)
	r3, r0 := b.replies(t, outs3), b.replies(t, outs0)
	want := len(b.last[0].Body.Ops) + 2 // re-sent, none for the older request, new
	if len(r3) != want || len(r0) != want {
		t.Fatalf("replies: exec 3 %d, exec 0 %d, want %d", len(r3), len(r0), want)
	}
	for i := range r3 {
		if r3[i].rep.Client != r0[i].rep.Client || r3[i].rep.Timestamp != r0[i].rep.Timestamp || !sameRes(r3[i].res, r0[i].res) {
			t.Fatalf("reply %d differs: %+v vs %+v", i, r3[i], r0[i])
		}
	}
	if r3[2].rep.Client != b.clients[0].id || r3[0].res.Status != spec.StatusOK || string(r3[0].res.Value) != strings.Repeat("v1-0", spec.MaxKVValue/4) {
		t.Fatalf("unexpected results %+v", r3)
	}
	// The replay did not execute again: the deleted key stays deleted.
	check := b.kvRequest(b.clients[2], get(b.lastKey[0]))
	for _, i := range []uint64{0, 3} {
		b.checkReplies(t, b.order(i, 22, check), i, 0, wantResult{b.clients[2].id, check.Body.Timestamp, spec.StatusNotFound, ""})
	}
	s0, d0 := x0.StateDigestAt()
	if s3, d3 := x3.StateDigestAt(); s3 != s0 || d3 != d0 {
		t.Fatalf("exec 3 state %d %x, exec 0 %d %x", s3, d3, s0, d0)
	}
	// Exec 3 now serves the transferred snapshot itself.
	if c := b.stateRequest(3, 0); len(c) != 3 {
		t.Fatalf("exec 3 serves %d chunks", len(c))
	}
}

func sameRes(a, b spec.Result) bool { return a.Status == b.Status && bytes.Equal(a.Value, b.Value) }

// TestStateTransferMismatch checks that a complete snapshot whose digest differs from
// the certified one is rejected with digest-mismatch and dropped, that a chunk of a
// different Count/Size replaces the held ones, and that the real snapshot then installs.
func TestStateTransferMismatch(t *testing.T) {
	b := newBehind(t, 62, false)
	x3 := b.execs[3]
	real := b.stateRequest(0, 0)
	if len(real) != 1 {
		t.Fatalf("%d chunks", len(real))
	}
	// A two-chunk bogus transfer starts, then the real one-chunk chunk replaces it.
	bogus0 := b.sealChunk(20, b.state, 0, 2, spec.MaxStateChunkBytes+5, make([]byte, spec.MaxStateChunkBytes))
	expectAccept(t, x3, in(spec.KindStateChunk, &bogus0))
	if !strings.Contains(x3.DebugState(), "transfer count=2") {
		t.Fatalf("bogus chunk not held:\n%s", x3.DebugState())
	}
	// A complete one-chunk snapshot that does not hash to the certified state.
	var snap spec.Snapshot
	plain := b.openChunk(real[0])
	mustDecode(t, plain, &snap)
	snap.Clients = snap.Clients[:1]
	forged := spec.Encode(&snap)
	fc := b.sealChunk(20, b.state, 0, 1, uint64(len(forged)), forged)
	before := x3.DebugState()
	outs := stepRaw(t, x3, spec.Encode(&spec.StepInput{Inputs: []spec.Input{in(spec.KindStateChunk, &fc)}}))
	if r := rejections(outs); len(r) != 1 || r[0].Code != spec.CodeDigestMismatch || len(outs) != 2 {
		t.Fatalf("forged snapshot:%s", describe(outs))
	}
	codesSeen[spec.CodeDigestMismatch] = true
	after := x3.DebugState()
	if strings.Contains(after, "transfer") || !strings.Contains(before, "transfer") || status(t, outs).Last != 0 {
		t.Fatalf("mismatch did not just drop the held chunks:\n%s", after)
	}
	outs = expectAccept(t, x3, in(spec.KindStateChunk, &real[0]))
	if st := status(t, outs); st.Last != 20 || st.NeedState {
		t.Fatalf("status %+v", st)
	}
	_, d0 := b.execs[0].StateDigestAt()
	if _, d3 := x3.StateDigestAt(); d3 != d0 {
		t.Fatal("state differs after install")
	}
}

// TestStateTransferUndecodable certifies (with q test-signed checkpoints) digests of
// snapshots that hash correctly but are not valid exec snapshots: each is treated as a
// mismatch and changes nothing but the held chunks.
func TestStateTransferUndecodable(t *testing.T) {
	b := newBehind(t, 63, false)
	x3 := b.execs[3]
	real := b.openChunk(b.stateRequest(0, 0)[0])
	var good spec.Snapshot
	mustDecode(t, real, &good)
	variants := map[string]func() []byte{
		"not cbor":  func() []byte { return []byte{0xff, 0xff} },
		"wrong seq": func() []byte { s := good; s.Seq = 20; return spec.Encode(&s) },
		"unsorted clients": func() []byte {
			s := good
			s.Clients = []spec.ClientEntry{good.Clients[1], good.Clients[0]}
			return spec.Encode(&s)
		},
		"empty results": func() []byte {
			s := good
			s.Clients = []spec.ClientEntry{{Client: 1, Timestamp: 1}}
			return spec.Encode(&s)
		},
		"bad app": func() []byte { s := good; s.App = []byte{0x80}; return spec.Encode(&s) },
	}
	seq := uint64(30)
	for name, mk := range variants {
		t.Run(name, func(t *testing.T) {
			data := mk()
			state := spec.StateDigest(data)
			cert := b.checkpointCert(seq, state)
			for _, cp := range cert.Proof {
				expectAccept(t, x3, in(spec.KindCheckpoint, &cp))
			}
			before := x3.DebugState()
			fc := b.sealChunk(seq, state, 0, 1, uint64(len(data)), data)
			outs := stepRaw(t, x3, spec.Encode(&spec.StepInput{Inputs: []spec.Input{in(spec.KindStateChunk, &fc)}}))
			if r := rejections(outs); len(r) != 1 || r[0].Code != spec.CodeDigestMismatch {
				t.Fatalf("%s:%s", name, describe(outs))
			}
			if x3.DebugState() != before {
				t.Fatalf("%s changed the state", name)
			}
			seq += 10
		})
	}
}

// openChunk opens a state chunk with the test's own state key.
func (b *behind) openChunk(c spec.StateChunk) []byte {
	ad := cat([]byte("splitbft/v1/state-chunk"), []byte{0}, b.cd[:], spec.U64(c.Seq), c.State[:], spec.U64(c.Index), spec.U64(c.Count), spec.U64(c.Size))
	plain, err := xopen(b.stateKey(), c.Nonce, c.Ciphertext, ad)
	if err != nil {
		b.t.Fatalf("chunk does not open with the test's state key: %v", err)
	}
	return plain
}

// TestStateTransferFromUnstableSnapshot checks T2's second case: exec 3 holds a valid
// certificate for checkpoint 10 (signed by execs 0, 1 and 2) while at exec 0 it is not
// stable yet (exec 0 saw only exec 1's checkpoint besides its own). Exec 0 serves its
// own snapshot of 10, exec 3 installs it; a digest exec 0 does not hold stays stale.
func TestStateTransferFromUnstableSnapshot(t *testing.T) {
	c := newCluster(t, 62, defaultParams())
	var cps [3][]spec.Input
	var state spec.Digest
	for s := uint64(1); s <= 10; s++ {
		req := c.kvRequest(c.clients[int(s)%len(c.clients)], put(fmt.Sprintf("k%d", s), "v"))
		for i := uint64(0); i < 3; i++ {
			for _, o := range ofKind(c.order(i, s, req), spec.KindCheckpoint) {
				var cp spec.Checkpoint
				mustDecode(t, o.Body, &cp)
				state = cp.Body.State
				cps[i] = append(cps[i], spec.Input{Kind: spec.KindCheckpoint, Body: o.Body})
			}
		}
	}
	if len(cps[0]) != 1 {
		t.Fatalf("exec 0 emitted %d checkpoints, want 1 (at 10)", len(cps[0]))
	}
	if st := status(t, c.step(0, cps[1]...)); st.Stable != 0 || st.Last != 10 {
		t.Fatalf("exec 0 status %+v, want 10 executed and nothing stable", st)
	}
	if st := status(t, c.step(3, cps[0][0], cps[1][0], cps[2][0])); st.Stable != 10 || !st.NeedState {
		t.Fatalf("exec 3 status %+v, want stable 10 and NeedState", st)
	}
	x0 := c.execs[0]
	expectReject(t, x0, in(spec.KindStateRequest, &spec.StateRequest{Seq: 10, State: spec.Digest{9}, Replica: 3}), spec.CodeStale)
	expectReject(t, x0, in(spec.KindStateRequest, &spec.StateRequest{Seq: 5, State: state, Replica: 3}), spec.CodeStale)
	outs := expectAccept(t, x0, in(spec.KindStateRequest, &spec.StateRequest{Seq: 10, State: state, Replica: 3}))
	chunks := ofKind(outs, spec.KindStateChunk)
	if len(chunks) != 1 {
		t.Fatalf("%d chunks, want 1", len(chunks))
	}
	outs = expectAccept(t, c.execs[3], spec.Input{Kind: spec.KindStateChunk, Body: chunks[0].Body})
	if st := status(t, outs); st.NeedState || st.Last != 10 || st.Stable != 10 {
		t.Fatalf("exec 3 after the transfer: %+v", st)
	}
	// §11.7: the installed state is signed like an executed checkpoint.
	own := ofKind(outs, spec.KindCheckpoint)
	if len(own) != 1 {
		t.Fatalf("exec 3 emitted %d checkpoints after installing, want 1", len(own))
	}
	var cp spec.Checkpoint
	mustDecode(t, own[0].Body, &cp)
	if cp.Body.Seq != 10 || cp.Body.State != state || cp.Body.Replica != 3 {
		t.Fatalf("checkpoint after install: %+v", cp.Body)
	}
}

// TestTransferSummary checks the summary an installed transfer emits for the local
// broker (§11.7): once, after the CHECKPOINT, with an empty destination, the installed
// Seq and, per client of the installed table in increasing id order, the timestamp of
// its last executed operation.
func TestTransferSummary(t *testing.T) {
	b := newBehind(t, 62, false)
	x3 := b.execs[3]
	chunks := b.stateRequest(0, 0)
	if len(chunks) != 1 {
		t.Fatalf("%d chunks, want 1", len(chunks))
	}
	outs := expectAccept(t, x3, in(spec.KindStateChunk, &chunks[0]))
	var kinds []uint64
	for _, o := range outs {
		kinds = append(kinds, o.Kind)
	}
	want := []uint64{spec.KindCheckpoint, spec.KindTransferSummary, spec.KindStatus}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("outputs %v, want %v", kinds, want)
	}
	o := ofKind(outs, spec.KindTransferSummary)[0]
	if o.To.Roles != 0 || len(o.To.Replicas) != 0 {
		t.Fatalf("summary destination %+v: must be local", o.To)
	}
	var sum spec.TransferSummary
	mustDecode(t, o.Body, &sum)
	var exp []spec.ClientDone
	for i := range b.clients {
		q := b.last[i].Body
		exp = append(exp, spec.ClientDone{Client: q.Client, Timestamp: q.Timestamp + uint64(len(q.Ops)) - 1})
	}
	if sum.Seq != 20 || fmt.Sprint(sum.Clients) != fmt.Sprint(exp) {
		t.Fatalf("summary %s, want n=20 clients %v", spec.Describe(spec.KindTransferSummary, o.Body), exp)
	}
	for i := 1; i < len(sum.Clients); i++ {
		if sum.Clients[i].Client <= sum.Clients[i-1].Client {
			t.Fatalf("summary clients not in increasing order: %v", sum.Clients)
		}
	}
	c := b.stateRequest(0, 0)[0]
	expectReject(t, x3, in(spec.KindStateChunk, &c), spec.CodeStale) // installed: a second copy changes nothing
}
