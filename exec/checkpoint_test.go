package exec_test

import (
	"crypto/ed25519"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/exec/kv"
	"github.com/splitbft/splitbft/spec"
)

// model is the test's own replica of the replicated state: a kv store fed the same
// plaintext operations, and the client table built from the opened replies.
type model struct {
	app   *kv.Store
	table map[uint64]spec.ClientEntry
}

func newModel() *model { return &model{app: kv.New(), table: map[uint64]spec.ClientEntry{}} }

// apply records one executed request: its ops and the results the client opened.
func (m *model) apply(t *testing.T, cl *client, ts uint64, ops []spec.KVOp, got []openedReply) {
	t.Helper()
	ent := spec.ClientEntry{Client: cl.id, Timestamp: ts}
	for j := range ops {
		r := m.app.Execute(spec.Encode(&ops[j]))
		if d := cmp.Diff(normal(r), normal(got[j].res)); d != "" {
			t.Fatalf("op %d: results differ (-model +exec):\n%s", j, d)
		}
		ent.Results = append(ent.Results, got[j].res)
	}
	m.table[cl.id] = ent
}

func normal(r spec.Result) spec.Result {
	if len(r.Value) == 0 {
		r.Value = nil
	}
	return r
}

// stateDigest computes StateDigest(enc(Snapshot{seq, app, table sorted})) (§11.5).
func (m *model) stateDigest(seq uint64) spec.Digest {
	snap := spec.Snapshot{Seq: seq, App: m.app.Snapshot()}
	for _, id := range sortedIDs(m.table) {
		snap.Clients = append(snap.Clients, m.table[id])
	}
	return spec.StateDigest(spec.Encode(&snap))
}

func sortedIDs(m map[uint64]spec.ClientEntry) []uint64 {
	var ids []uint64
	for id := range m {
		ids = append(ids, id)
	}
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[j] < ids[i] {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
	return ids
}

// TestCheckpointAtK runs K batches and checks the CHECKPOINT: emitted after the K-th
// batch's reply, to every compartment of every replica, signed by the exec's key,
// with the StateDigest the test computes from its own model; then q matching
// checkpoints make it stable.
func TestCheckpointAtK(t *testing.T) {
	c := newCluster(t, 41, defaultParams())
	m := newModel()
	var outs []spec.Output
	for s := uint64(1); s <= c.p.k; s++ {
		cl := c.clients[int(s)%len(c.clients)]
		ops := []spec.KVOp{put(fmt.Sprintf("k%d", s%4), fmt.Sprintf("v%d", s)), get("k1")}
		ts := cl.nextTS
		outs = c.order(0, s, c.kvRequest(cl, ops...))
		m.apply(t, cl, ts, ops, c.replies(t, outs))
		if cps := ofKind(outs, spec.KindCheckpoint); (len(cps) == 1) != (s == c.p.k) {
			t.Fatalf("seq %d: %d checkpoints", s, len(cps))
		}
	}
	if outs[0].Kind != spec.KindReply || outs[1].Kind != spec.KindCheckpoint {
		t.Fatalf("checkpoint not after the batch's reply (one for its two-operation request):%s", describe(outs))
	}
	o := outs[1]
	if o.To.Roles != spec.ToPrep|spec.ToConf|spec.ToExec || !reflect.DeepEqual(o.To.Replicas, []uint64{0, 1, 2, 3}) {
		t.Fatalf("checkpoint destination %+v", o.To)
	}
	var cp spec.Checkpoint
	mustDecode(t, o.Body, &cp)
	want := m.stateDigest(c.p.k)
	if cp.Body.Seq != c.p.k || cp.Body.Replica != 0 || cp.Body.State != want {
		t.Fatalf("checkpoint %+v, want state %x", cp.Body, want)
	}
	if seq, d := c.execs[0].StateDigestAt(); seq != c.p.k || d != want {
		t.Fatalf("StateDigestAt = %d %x", seq, d)
	}
	if !ed25519.Verify(c.enr[0].Body.SignKey[:], spec.SignedBytes("splitbft/v1/checkpoint", c.cd, spec.Encode(&cp.Body)), cp.Sig[:]) {
		t.Fatal("checkpoint signature does not verify under the exec's enrolled key")
	}
	if st := status(t, outs); st.Stable != 0 {
		t.Fatalf("stable after own checkpoint only: %+v", st)
	}
	cp1 := c.checkpointMsg(1, c.p.k, want)
	expectAccept(t, c.execs[0], in(spec.KindCheckpoint, &cp1))
	cp2 := c.checkpointMsg(2, c.p.k, want)
	outs = expectAccept(t, c.execs[0], in(spec.KindCheckpoint, &cp2))
	if st := status(t, outs); st.Stable != c.p.k || st.NeedState {
		t.Fatalf("not stable after q checkpoints: %+v", st)
	}
	if _, _, _, snaps, cps := c.execs[0].StoreSizes(); snaps != 0 || cps != 0 {
		t.Fatalf("stable checkpoint left %d snapshots and %d checkpoints", snaps, cps)
	}
}

// TestCheckpointRules checks CP1–CP7 and far checkpoints becoming stable.
func TestCheckpointRules(t *testing.T) {
	c := newCluster(t, 42, defaultParams())
	x := c.execs[0]
	st := spec.Digest{0x5a}
	cpIn := func(r, seq uint64, state spec.Digest) spec.Input {
		m := c.checkpointMsg(r, seq, state)
		return in(spec.KindCheckpoint, &m)
	}
	bad := c.checkpointMsg(1, 10, st)
	bad.Body.Replica = 4
	wrongKey := spec.CheckpointBody{Seq: 30, State: st, Replica: 1}
	expectAccept(t, x, cpIn(1, 10, st), cpIn(2, 10, st), cpIn(3, 10, st)) // h = 10: x is now behind
	expectAccept(t, x, cpIn(1, 20, st), cpIn(1, 60, st))                  // 60 > h + L = 50: far
	cases := []struct {
		name  string
		input spec.Input
		code  uint64
	}{
		{"CP1 replica n", in(spec.KindCheckpoint, &bad), spec.CodeUnknownSender},
		{"CP2 seq 0", cpIn(1, 0, st), spec.CodeBadCheckpoint},
		{"CP2 not a multiple", cpIn(1, 25, st), spec.CodeBadCheckpoint},
		{"CP3 at h", cpIn(1, 10, st), spec.CodeStale},
		{"CP4 conf key", in(spec.KindCheckpoint, &spec.Checkpoint{Body: wrongKey, Sig: c.sign(c.conf[1], "splitbft/v1/checkpoint", &wrongKey)}), spec.CodeBadSignature},
		{"CP4 other domain", in(spec.KindCheckpoint, &spec.Checkpoint{Body: wrongKey, Sig: c.sign(c.execSig[1], "splitbft/v1/commit", &wrongKey)}), spec.CodeBadSignature},
		{"CP5 duplicate", cpIn(1, 20, st), spec.CodeDuplicate},
		{"CP5 duplicate far", cpIn(1, 60, st), spec.CodeDuplicate},
		{"CP6 conflict", cpIn(1, 20, spec.Digest{1}), spec.CodeConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectReject(t, x, tc.input, tc.code) })
	}
	expectAccept(t, x, cpIn(1, 70, st)) // replaces the far 60
	if s := x.DebugState(); containsLine(s, "checkpoint r=1 s=60") || !containsLine(s, "checkpoint r=1 s=70") {
		t.Fatalf("far checkpoint not replaced:\n%s", s)
	}
	expectReject(t, x, cpIn(1, 60, st), spec.CodeStale) // CP7: not above the stored far one
	expectAccept(t, x, cpIn(1, 50, st))                 // in the window: stored beside the far one
	// q far checkpoints for 70 make it stable.
	outs := expectAccept(t, x, cpIn(2, 70, st), cpIn(3, 70, st))
	if s := status(t, outs); s.Stable != 70 || !s.NeedState || s.Last != 0 {
		t.Fatalf("status %+v", s)
	}
	if _, _, _, _, n := x.StoreSizes(); n != 0 {
		t.Fatalf("%d checkpoints left at or below h", n)
	}
}

func containsLine(s, prefix string) bool {
	for _, l := range splitLines(s) {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// TestStableCheckpointGC runs 2,000 batches on all four execs with K=10, L=40, routing
// each exec's checkpoints to the others 25 batches late, and checks that every store
// stays bounded, that stable checkpoints prune them, and that all execs agree.
func TestStableCheckpointGC(t *testing.T) {
	const total, lag = 2000, 25
	c := newCluster(t, 43, defaultParams())
	var pending [][]spec.Input // pending[s] = checkpoint inputs produced at seq s, per exec
	maxSeen := [5]int{}
	for s := uint64(1); s <= total; s++ {
		cl := c.clients[int(s)%len(c.clients)]
		req := c.kvRequest(cl, put(fmt.Sprintf("k%d", s%17), fmt.Sprintf("v%d", s)))
		var produced []spec.Input
		for i := range c.execs {
			var late []spec.Input
			if s > lag && s-lag < uint64(len(pending)) {
				late = pending[s-lag]
			}
			bi, d := batchInput(req)
			ins := append(append([]spec.Input{bi}, c.commitInputs(0, s, d)...), late...)
			outs := c.step(uint64(i), ins...)
			for _, r := range rejections(outs) {
				if r.Kind != spec.KindCheckpoint || r.Code != spec.CodeDuplicate && r.Code != spec.CodeStale {
					t.Fatalf("seq %d exec %d: rejection %+v", s, i, r)
				}
			}
			if len(ofKind(outs, spec.KindReply)) != 1 {
				t.Fatalf("seq %d exec %d: no reply", s, i)
			}
			for _, o := range ofKind(outs, spec.KindCheckpoint) {
				produced = append(produced, spec.Input{Kind: spec.KindCheckpoint, Body: o.Body})
			}
			sizes := [5]int{}
			sizes[0], sizes[1], sizes[2], sizes[3], sizes[4] = c.execs[i].StoreSizes()
			for k := range sizes {
				maxSeen[k] = max(maxSeen[k], sizes[k])
			}
		}
		for uint64(len(pending)) <= s {
			pending = append(pending, nil)
		}
		pending[s] = produced
	}
	// Bounds: batches and commits are consumed at execution; at most
	// ceil((lag+K)/K) unstable snapshots; checkpoints only above h.
	// And the lag did make snapshots and checkpoints pile up before they were pruned.
	if maxSeen[0] > 1 || maxSeen[1] > 0 || maxSeen[2] > 0 || maxSeen[3] > 4 || maxSeen[4] > 4*4 || maxSeen[3] < 3 || maxSeen[4] < 3 {
		t.Fatalf("store maxima (batches, commits, committed, snapshots, checkpoints) = %v", maxSeen)
	}
	seq0, d0 := c.execs[0].StateDigestAt()
	for i, x := range c.execs {
		st := status(t, c.step(uint64(i)))
		if st.Stable < total-lag-10 || st.Last != total {
			t.Fatalf("exec %d status %+v", i, st)
		}
		if seq, d := x.StateDigestAt(); seq != seq0 || d != d0 {
			t.Fatalf("exec %d state %d %x differs from exec 0 %d %x", i, seq, d, seq0, d0)
		}
	}
}

// TestUncommittedBatchesAgeOut checks the age rule of SPEC.md §11.6: batches that are
// never committed (a broker's junk, or proposals replaced at a view change) are dropped
// once the stable checkpoint has moved L past the point they were stored, so the
// bounded batch store (2L) never fills up and stalls execution.
func TestUncommittedBatchesAgeOut(t *testing.T) {
	const total = 600
	p := defaultParams()
	c := newCluster(t, 44, p)
	pending := make([][]spec.Input, total+1) // pending[s]: checkpoints produced at s, delivered at s+1
	maxBatches := 0
	for s := uint64(1); s <= total; s++ {
		cl := c.clients[int(s)%len(c.clients)]
		real := c.kvRequest(cl, put(fmt.Sprintf("k%d", s%5), "v"))
		junk := c.kvRequest(cl, put("junk", fmt.Sprintf("%d", s)))
		var produced []spec.Input
		for i := range c.execs {
			bi, d := batchInput(real)
			ji, _ := batchInput(junk)
			ins := append([]spec.Input{ji, bi}, c.commitInputs(0, s, d)...)
			ins = append(ins, pending[s-1]...)
			outs := c.step(uint64(i), ins...)
			for _, r := range rejections(outs) {
				if r.Kind != spec.KindCheckpoint {
					t.Fatalf("seq %d exec %d: rejection %+v (%s)", s, i, r, spec.CodeName(r.Code))
				}
			}
			for _, o := range ofKind(outs, spec.KindCheckpoint) {
				produced = append(produced, spec.Input{Kind: spec.KindCheckpoint, Body: o.Body})
			}
			b, _, _, _, _ := c.execs[i].StoreSizes()
			maxBatches = max(maxBatches, b)
		}
		pending[s] = produced
	}
	l := int(p.l)
	if maxBatches > l+2*int(p.k)+1 || maxBatches < l {
		t.Fatalf("batch store peaked at %d, want between L=%d and L+2K+1", maxBatches, l)
	}
}
