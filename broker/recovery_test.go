package broker

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/spec"
)

// TestFetchBatches: exec's NeedBatch makes the broker ask its peers; a peer that saw
// the proposal answers; the batch reaches exec only because exec asked for it.
func TestFetchBatches(t *testing.T) {
	a := newHarness(t, 1, Options{FetchTicks: 2})
	b := newHarness(t, 2, Options{})
	prop, _ := testProposal(a.w, t)
	d := prop.Header.Body.Digest
	b.peer(0, spec.KindProposal, prop) // b caches the batch
	b.r.Flush()

	// A batch nobody asked for is dropped.
	a.peer(2, spec.KindBatch, &prop.Batch)
	a.r.Flush()
	if a.r.Metrics().Unwanted != 1 || len(a.enc[spec.RoleExec].inputs()) != 0 {
		t.Fatal("unwanted batch delivered")
	}

	a.enc[spec.RoleExec].st.NeedBatch = []spec.Digest{d}
	a.peer(3, spec.KindCommit, &spec.Commit{}) // any exec step reports the need
	a.r.Flush()
	a.ticks(2)
	var fetch []byte
	for _, s := range a.net.sent {
		if m, _, _ := DecodePeer(s.msg); m.Kind == KindFetchBatch && s.to == 2 {
			fetch = s.msg
		}
	}
	if fetch == nil || a.r.Metrics().BatchFetches != 1 {
		t.Fatalf("no fetch sent: %d", a.r.Metrics().BatchFetches)
	}
	b.r.HandlePeer(1, fetch)
	if len(b.net.sent) != 1 || b.r.Metrics().BatchesServed != 1 {
		t.Fatalf("peer answered %d messages", len(b.net.sent))
	}
	a.r.HandlePeer(2, b.net.sent[0].msg)
	a.r.Flush()
	if k := a.enc[spec.RoleExec].kinds(); !slices.Equal(k, []uint64{spec.KindCommit, spec.KindBatch}) {
		t.Fatalf("exec got %v", k)
	}
	// Now cached locally: the next fetch round delivers it from the cache.
	a.ticks(2)
	if k := a.enc[spec.RoleExec].kinds(); len(k) != 3 || k[2] != spec.KindBatch || a.r.Metrics().BatchFetches != 1 {
		t.Fatalf("exec got %v, fetches %d", k, a.r.Metrics().BatchFetches)
	}
}

// TestStateRequest: exec's NeedState makes the broker ask a peer for the snapshot of
// its stable seq with a digest learned from a signed checkpoint; chunks are delivered
// only while exec wants state, and the next request asks for the first missing chunk.
func TestStateRequest(t *testing.T) {
	h := newHarness(t, 1, Options{StateTicks: 3})
	state := spec.Digest{9}
	h.peer(2, spec.KindCheckpoint, h.w.checkpoint(2, 8, state))
	forged := h.w.checkpoint(3, 8, spec.Digest{7})
	forged.Sig[0] ^= 1
	h.peer(3, spec.KindCheckpoint, forged) // not signed: not a candidate
	exec := h.enc[spec.RoleExec]
	exec.st.NeedState, exec.st.Stable = true, 8
	h.r.Flush()
	h.ticks(3)
	var reqs []spec.StateRequest
	for _, s := range h.net.sent {
		m, body, _ := DecodePeer(s.msg)
		if m.Kind == spec.KindStateRequest {
			reqs = append(reqs, *body.(*spec.StateRequest))
		}
	}
	if len(reqs) != 1 || reqs[0] != (spec.StateRequest{Seq: 8, State: state, Replica: 1, Index: 0}) {
		t.Fatalf("state requests %+v", reqs)
	}
	h.peer(2, spec.KindStateChunk, &spec.StateChunk{Seq: 8, State: state, Index: 0, Count: 3})
	h.peer(2, spec.KindStateChunk, &spec.StateChunk{Seq: 8, State: state, Index: 1, Count: 3})
	h.r.Flush()
	h.net.sent = nil
	h.ticks(3)
	_, body, _ := DecodePeer(h.net.sent[len(h.net.sent)-1].msg)
	if sr, ok := body.(*spec.StateRequest); !ok || sr.Index != 2 {
		t.Fatalf("second request %+v", body)
	}
	if k := exec.kinds(); slices.Index(k, spec.KindStateChunk) < 0 {
		t.Fatalf("chunks not delivered: %v", k)
	}
}

// TestInputQueueBounded: a full compartment queue drops its oldest inputs.
func TestInputQueueBounded(t *testing.T) {
	h := newHarness(t, 1, Options{QueueLimit: 4})
	for i := range 10 {
		h.peer(2, spec.KindPrepare, &spec.Prepare{Body: spec.Slot{Seq: uint64(i)}})
	}
	if s := h.r.Sizes(); s.Inputs[spec.RoleConf] != 4 || h.r.Metrics().QueueDrops != 6 {
		t.Fatalf("sizes %+v drops %d", s, h.r.Metrics().QueueDrops)
	}
	h.r.Flush()
	var seqs []uint64
	for _, in := range h.enc[spec.RoleConf].inputs() {
		var p spec.Prepare
		spec.Decode(in.Body, &p, 1024)
		seqs = append(seqs, p.Body.Seq)
	}
	if !slices.Equal(seqs, []uint64{6, 7, 8, 9}) {
		t.Fatalf("delivered %v, want the newest 4", seqs)
	}
}

// TestBatchQueueBounded: the primary's batch queue drops its oldest requests.
func TestBatchQueueBounded(t *testing.T) {
	h := newHarness(t, 0, Options{BatchQueueLimit: 2, BatchSize: 8, BatchTicks: 100})
	for i := range 5 {
		raw, _ := h.w.request(t, i, 1)
		h.r.HandleClient(raw)
	}
	if h.r.Sizes().BatchQueue != 2 || h.r.Metrics().QueueDrops != 3 {
		t.Fatalf("queue %d drops %d", h.r.Sizes().BatchQueue, h.r.Metrics().QueueDrops)
	}
}

// TestHostErrorMarksDead: an enclave whose host fails gets no further inputs.
func TestHostErrorMarksDead(t *testing.T) {
	h := newHarness(t, 1, Options{})
	h.enc[spec.RoleConf].fail = true
	h.peer(2, spec.KindPrepare, &spec.Prepare{})
	h.r.Flush()
	h.peer(2, spec.KindPrepare, &spec.Prepare{})
	h.r.Flush()
	m := h.r.Metrics()
	if m.HostErrors[spec.RoleConf] != 1 || m.Steps[spec.RoleConf] != 1 || m.QueueDrops != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

// TestRetransmitToStuckPeer: a peer whose hints show it stuck behind gets the recent
// outputs again; a peer that is not behind does not.
func TestRetransmitToStuckPeer(t *testing.T) {
	h := newHarness(t, 1, Options{RetransmitTicks: 5, HintTicks: 1000})
	commit := spec.Output{Kind: spec.KindCommit, To: spec.Destination{Roles: spec.ToExec, Replicas: allReplicas}, Body: spec.Encode(&spec.Commit{Body: spec.Slot{Seq: 1, Replica: 1}})}
	h.enc[spec.RoleConf].script = func(f *fakeEnclave, in spec.Input) []spec.Output { return []spec.Output{commit} }
	h.enc[spec.RoleExec].st.Last = 1
	h.peer(2, spec.KindPrepare, &spec.Prepare{})
	h.r.Flush()
	sentBefore := len(h.net.sent)
	for range 2 { // two equal hints: stuck
		h.peer(2, KindHint, &Hint{ExecLast: 0, Active: true})
		h.peer(3, KindHint, &Hint{ExecLast: 1, Active: true})
	}
	h.ticks(5)
	var to []uint64
	for _, s := range h.net.sent[sentBefore:] {
		to = append(to, s.to)
	}
	if !slices.Equal(to, []uint64{2}) || h.r.Metrics().Retransmits != 1 {
		t.Fatalf("retransmitted to %v", to)
	}
	h.ticks(4)
	if h.r.Metrics().Retransmits != 1 {
		t.Fatal("retransmitted again before RetransmitTicks")
	}
}

// TestRetransmitWhenStalled: a replica with work and no progress re-sends to all.
func TestRetransmitWhenStalled(t *testing.T) {
	h := newHarness(t, 1, Options{RetransmitTicks: 5, HintTicks: 1000, RequestTimeoutTicks: 1000})
	prep := spec.Output{Kind: spec.KindPrepare, To: spec.Destination{Roles: spec.ToConf, Replicas: allReplicas}, Body: spec.Encode(&spec.Prepare{Body: spec.Slot{Seq: 1, Replica: 1}})}
	h.enc[spec.RolePrep].script = func(f *fakeEnclave, in spec.Input) []spec.Output { return []spec.Output{prep} }
	h.enc[spec.RolePrep].st.Last = 1 // prepared 1, exec has not executed it: work
	h.peer(0, spec.KindProposal, func() *spec.Proposal { p, _ := testProposal(h.w, t); return p }())
	h.r.Flush()
	h.ticks(6)
	if got := h.r.Metrics().Retransmits; got != 3 {
		t.Fatalf("retransmits %d, want one prepare to each of 3 peers", got)
	}
}

// TestRingBounded: the retransmission ring keeps at most RingLimit messages.
func TestRingBounded(t *testing.T) {
	h := newHarness(t, 1, Options{RingLimit: 3})
	h.enc[spec.RoleConf].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		return []spec.Output{{Kind: spec.KindCommit, To: spec.Destination{Roles: spec.ToExec, Replicas: allReplicas}, Body: spec.Encode(&spec.Commit{})}}
	}
	for range 10 {
		h.peer(2, spec.KindPrepare, &spec.Prepare{})
	}
	h.r.Flush()
	if h.r.Sizes().Ring != 3 {
		t.Fatalf("ring %d", h.r.Sizes().Ring)
	}
}

// TestStateChunkRejected: a chunk exec rejects (forged, corrupted) is not counted as
// received: the next state request asks for its index again; a duplicate keeps its
// mark; a chunk for a snapshot the broker did not ask for changes nothing (issue 15,
// finding 6).
func TestStateChunkRejected(t *testing.T) {
	state := spec.Digest{9}
	for _, tc := range []struct {
		name   string
		code   uint64 // exec's answer to chunk 1; 0 accepts
		other  bool   // chunk 1 names another snapshot (not a signed candidate)
		wantIx uint64 // index of the next state request
	}{
		{"accepted", 0, false, 2},
		{"bad chunk", spec.CodeBadChunk, false, 1},
		{"stale", spec.CodeStale, false, 1},
		{"duplicate", spec.CodeDuplicate, false, 2},
		{"other snapshot", spec.CodeStale, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, Options{StateTicks: 3})
			h.peer(2, spec.KindCheckpoint, h.w.checkpoint(2, 8, state))
			exec := h.enc[spec.RoleExec]
			exec.st.NeedState, exec.st.Stable = true, 8
			exec.script = func(_ *fakeEnclave, in spec.Input) []spec.Output {
				var c spec.StateChunk
				if in.Kind != spec.KindStateChunk || spec.Decode(in.Body, &c, 1<<20) != nil || c.Index != 1 || tc.code == 0 {
					return nil
				}
				return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: 1, Code: tc.code})}}
			}
			h.r.Flush()
			other := state
			if tc.other {
				other = spec.Digest{7}
			}
			h.peer(2, spec.KindStateChunk, &spec.StateChunk{Seq: 8, State: state, Index: 0, Count: 3})
			h.peer(3, spec.KindStateChunk, &spec.StateChunk{Seq: 8, State: other, Index: 1, Count: 3})
			h.r.Flush()
			h.net.sent = nil
			h.ticks(3)
			if len(h.net.sent) == 0 {
				t.Fatal("no state request sent")
			}
			_, body, _ := DecodePeer(h.net.sent[len(h.net.sent)-1].msg)
			if sr, ok := body.(*spec.StateRequest); !ok || sr.Index != tc.wantIx {
				t.Fatalf("next request %+v, want index %d", body, tc.wantIx)
			}
		})
	}
}

// TestObservedCheckpointStates: the broker learns a checkpoint's state digest only
// from a validly signed CHECKPOINT, and each (Seq, State) once, however many
// replicas send it.
func TestObservedCheckpointStates(t *testing.T) {
	w := newWorld(t, 1, 8, 92)
	h := harnessIn(w, 0, Options{})
	forged := w.checkpoint(1, 16, spec.Digest{6})
	forged.Sig[0] ^= 1
	h.peer(1, spec.KindCheckpoint, forged)
	h.r.Flush()
	if got := h.r.certStates[16]; len(got) != 0 {
		t.Fatalf("learned %v from a forged CHECKPOINT", got)
	}
	for p := uint64(1); p < 4; p++ {
		h.peer(p, spec.KindCheckpoint, w.checkpoint(p, 16, spec.Digest{5}))
	}
	h.peer(2, spec.KindCheckpoint, forged)
	h.r.Flush()
	if diff := cmp.Diff([]spec.Digest{{5}}, h.r.certStates[16]); diff != "" {
		t.Errorf("state digests learned for 16 (-want +got):\n%s", diff)
	}
}
