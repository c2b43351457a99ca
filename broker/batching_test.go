package broker

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// batchSizes decodes every client batch prep received and returns their sizes.
func batchSizes(t *testing.T, f *fakeEnclave) []int {
	var sizes []int
	for _, in := range f.inputs() {
		if in.Kind != spec.KindClientBatch {
			continue
		}
		var b spec.Batch
		if err := spec.Decode(in.Body, &b, spec.MaxMessageBytes); err != nil {
			t.Fatal(err)
		}
		seen := map[uint64]bool{}
		for _, q := range b.Requests {
			if seen[q.Body.Client] {
				t.Fatalf("client %d twice in one batch", q.Body.Client)
			}
			seen[q.Body.Client] = true
		}
		sizes = append(sizes, len(b.Requests))
	}
	return sizes
}

// TestBatchBySizeAndTime: with no early cut (PipelineDepth negative), a full batch is
// cut at once and a partial one after BatchTicks.
func TestBatchBySizeAndTime(t *testing.T) {
	h := newHarness(t, 0, Options{BatchSize: 3, BatchTicks: 2, PipelineDepth: -1})
	for i := range 5 {
		raw, _ := h.w.request(t, i, 1)
		h.r.HandleClient(raw)
		h.r.HandleClient(raw) // a duplicate is queued once
	}
	h.r.Flush()
	if got := batchSizes(t, h.enc[0]); !slices.Equal(got, []int{3}) {
		t.Fatalf("after flush: batches %v, want [3]", got)
	}
	h.ticks(1)
	if got := batchSizes(t, h.enc[0]); len(got) != 1 {
		t.Fatalf("after 1 tick: batches %v", got)
	}
	h.ticks(1)
	if got := batchSizes(t, h.enc[0]); !slices.Equal(got, []int{3, 2}) {
		t.Fatalf("after 2 ticks: batches %v, want [3 2]", got)
	}
}

// TestBatchIdlePipeline: a partial batch is cut without waiting for a tick while fewer
// than PipelineDepth batches are in flight (queued for prep, or proposed by prep and
// not yet executed by the local exec, or with a Ledger not yet durable), and waits
// for BatchTicks otherwise.
func TestBatchIdlePipeline(t *testing.T) {
	tests := []struct {
		name      string
		depth     int
		prepLast  uint64 // prep's highest proposed seq
		execLast  uint64 // exec's last executed seq
		durable   int    // with a Ledger: its Durable seq (-1: no Ledger)
		wantFlush []int  // batches after Flush alone
		wantTick  []int  // batches after one more tick
	}{
		{"idle", 1, 0, 0, -1, []int{2}, []int{2}},
		{"one in flight, depth 1", 1, 1, 0, -1, nil, []int{2}},
		{"one in flight, depth 2", 2, 5, 4, -1, []int{2}, []int{2}},
		{"two in flight, depth 2", 2, 6, 4, -1, nil, []int{2}},
		{"exec ahead of prep (new view)", 1, 3, 7, -1, []int{2}, []int{2}},
		{"disabled", -1, 0, 0, -1, nil, []int{2}},
		{"executed and durable", 2, 6, 6, 6, []int{2}, []int{2}},
		{"executed, two not durable", 2, 6, 6, 4, nil, []int{2}},
		{"executed, one not durable", 2, 6, 6, 5, []int{2}, []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := Options{BatchSize: 8, BatchTicks: 1, PipelineDepth: tc.depth}
			if tc.durable >= 0 {
				opt.Ledger = &fakeLedger{durable: uint64(tc.durable)}
			}
			h := newHarness(t, 0, opt)
			h.enc[spec.RolePrep].st.Last = tc.prepLast
			h.r.status[spec.RolePrep].Last = tc.prepLast
			h.enc[spec.RoleExec].st.Last = tc.execLast
			h.r.status[spec.RoleExec].Last = tc.execLast
			for i := range 2 {
				raw, _ := h.w.request(t, i, 1)
				h.r.HandleClient(raw)
			}
			h.r.Flush()
			if got := batchSizes(t, h.enc[spec.RolePrep]); !slices.Equal(got, tc.wantFlush) {
				t.Fatalf("after flush: batches %v, want %v", got, tc.wantFlush)
			}
			h.ticks(1)
			if got := batchSizes(t, h.enc[spec.RolePrep]); !slices.Equal(got, tc.wantTick) {
				t.Fatalf("after a tick: batches %v, want %v", got, tc.wantTick)
			}
		})
	}
}

func TestBatchOneRequestPerClient(t *testing.T) {
	h := newHarness(t, 0, Options{BatchSize: 4, BatchTicks: 1})
	for ts := uint64(1); ts <= 3; ts++ {
		raw, _ := h.w.request(t, 0, ts)
		h.r.HandleClient(raw)
	}
	raw, _ := h.w.request(t, 1, 1)
	h.r.HandleClient(raw)
	h.ticks(3)
	if got := batchSizes(t, h.enc[0]); !slices.Equal(got, []int{2, 1, 1}) {
		t.Fatalf("batches %v, want [2 1 1]", got)
	}
}

// TestBatchWindowFlowControl: no batch is cut while prep's window is full; a
// window-full rejection puts the batch back.
func TestBatchWindowFlowControl(t *testing.T) {
	h := newHarness(t, 0, Options{BatchSize: 1})
	prep := h.enc[spec.RolePrep]
	prep.st.Last = h.w.cfg.Window // seqHigh = h + L: full
	h.r.status[spec.RolePrep] = prep.st
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.ticks(3)
	if len(prep.inputs()) != 0 || h.r.Sizes().BatchQueue != 1 {
		t.Fatalf("batch cut with a full window: %v, queue %d", prep.kinds(), h.r.Sizes().BatchQueue)
	}
	// The window opens (a checkpoint became stable), but prep still says window-full once.
	h.r.status[spec.RolePrep].Stable = 4
	prep.st.Stable = 4
	rejected := false
	prep.script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if rejected {
			return nil
		}
		rejected = true
		return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&spec.Rejection{Index: 0, Kind: in.Kind, Code: spec.CodeWindowFull})}}
	}
	h.ticks(1)
	h.ticks(1)
	if got := batchSizes(t, prep); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("batches %v: a window-full batch must be retried", got)
	}
}

// TestBackupForwards: a backup forwards a valid request to the primary's broker and
// starts its timer; a request failing R1–R4 is dropped. (R5 is deferred: see
// TestDeferredSignatureCheck.)
func TestBackupForwards(t *testing.T) {
	h := newHarness(t, 1, Options{})
	raw, q := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	bad := *q
	bad.Sig[0] ^= 1
	tooMany := *q
	tooMany.Body.Ops = slices.Repeat(q.Body.Ops, 5) // MaxRequestOps is 4
	h.r.HandleClient(spec.Encode(&tooMany))
	h.r.HandleClient([]byte{0x80})
	h.r.Flush()
	if k := h.net.sentKinds(t, 0); !slices.Equal(k, []uint64{spec.KindRequest}) {
		t.Fatalf("sent to primary: %v", k)
	}
	m := h.r.Metrics()
	if m.Forwarded != 1 || m.BadRequests != 2 || h.r.Sizes().Pending != 1 || h.r.Sizes().BatchQueue != 0 {
		t.Fatalf("metrics %+v sizes %+v", m, h.r.Sizes())
	}
	// The primary's broker accepts the forwarded request into its batch queue.
	p := newHarness(t, 0, Options{BatchSize: 1})
	p.r.HandlePeer(1, h.net.sent[0].msg)
	p.r.Flush()
	if got := batchSizes(t, p.enc[0]); !slices.Equal(got, []int{1}) {
		t.Fatalf("primary batches %v", got)
	}
	// The primary's broker verifies a relayed request like a client's (SPEC §13.3
	// obligation 5: a faulty peer broker must not queue junk under real clients' ids)
	// but does not time it: the forwarding broker holds the timer.
	p2 := newHarness(t, 0, Options{BatchSize: 1})
	p2.r.HandlePeer(1, EncodePeer(spec.KindRequest, spec.Encode(&bad)))
	p2.r.Flush()
	if got := batchSizes(t, p2.enc[0]); len(got) != 0 || p2.r.Sizes().Pending != 0 || p2.r.Metrics().BadRequests != 1 {
		t.Fatalf("relayed bad request: batches %v, pending %d, bad %d", got, p2.r.Sizes().Pending, p2.r.Metrics().BadRequests)
	}
	p2.r.HandlePeer(1, h.net.sent[0].msg)
	p2.r.Flush()
	if got := batchSizes(t, p2.enc[0]); !slices.Equal(got, []int{1}) || p2.r.Sizes().Pending != 0 {
		t.Fatalf("relayed good request: batches %v, pending %d", got, p2.r.Sizes().Pending)
	}
	// A backup that receives a forwarded request does not forward it again.
	h.r.HandlePeer(2, h.net.sent[0].msg)
	if len(h.net.sent) != 1 || h.r.Metrics().Garbage != 1 {
		t.Fatal("a forwarded request was forwarded again")
	}
}

// TestNewPrimaryTakesPending: when prep enters a view in which this replica is the
// primary, the requests with running timers are batched; when another replica
// becomes primary, they are forwarded to it.
func TestNewPrimaryTakesPending(t *testing.T) {
	h := newHarness(t, 1, Options{BatchSize: 1})
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw) // forwarded to 0, timer running
	prep := h.enc[spec.RolePrep]
	prep.st.View = 1
	h.peer(2, spec.KindViewChange, h.w.viewChange(2, 1)) // any prep step reports view 1
	h.r.Flush()
	if got := batchSizes(t, prep); !slices.Equal(got, []int{1}) {
		t.Fatalf("new primary batches %v", got)
	}
	prep.st.View = 2
	h.peer(2, spec.KindViewChange, h.w.viewChange(2, 2))
	h.r.Flush()
	if k := h.net.sentKinds(t, 2); !slices.Contains(k, spec.KindRequest) {
		t.Fatalf("pending request not forwarded to the new primary: %v", k)
	}
}

// TestBatchSkipsRecentlyBatched: copies of a request that was just batched (forwarded
// by several backups) are not ordered again until a request timeout has passed.
func TestBatchSkipsRecentlyBatched(t *testing.T) {
	h := newHarness(t, 0, Options{BatchSize: 1, RequestTimeoutTicks: 10})
	raw, _ := h.w.request(t, 0, 1)
	h.r.HandleClient(raw)
	h.r.Flush()
	h.ticks(2)
	h.r.HandlePeer(1, EncodePeer(spec.KindRequest, raw))
	h.r.HandleClient(raw)
	h.ticks(2)
	if got := batchSizes(t, h.enc[0]); !slices.Equal(got, []int{1}) {
		t.Fatalf("batches %v: a copy was ordered again at once", got)
	}
	h.ticks(6)
	h.r.HandleClient(raw)
	h.r.Flush()
	if got := batchSizes(t, h.enc[0]); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("batches %v: a late retransmission must be ordered again (cached replies)", got)
	}
}
