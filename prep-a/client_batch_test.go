package prepa

import (
	"fmt"
	"math"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// TestClientBatchProposes: the primary proposes successive batches at seqHigh+1
// (SPEC.md §9.3), signed, to every prep, conf and exec.
func TestClientBatchProposes(t *testing.T) {
	h := newHarness(t, 0, defaultOpts(10))
	for s := uint64(1); s <= 3; s++ {
		b := h.batch(s, s+100)
		o := h.Only(h.Accept(fixture.In(spec.KindClientBatch, &b)), spec.KindProposal)
		h.CheckTo(o, spec.ToPrep|spec.ToConf|spec.ToExec)
		var pr spec.Proposal
		h.Decode(o, &pr)
		want := spec.Slot{View: 0, Seq: s, Digest: spec.BatchDigest(&b), Replica: 0}
		if pr.Header.Body != want || len(pr.Batch.Requests) != 2 {
			h.Fatalf("proposal %+v, want %+v", pr.Header.Body, want)
		}
		if !h.c.Verify(spec.RolePrep, 0, spec.DomainPrePrepare, &pr.Header.Body, pr.Header.Sig) {
			h.Fatalf("proposal signature does not verify")
		}
		_, st := h.Step()
		if st.Last != s {
			h.Fatalf("status Last %d, want %d", st.Last, s)
		}
	}
}

// TestClientBatchRules covers B1–B3 and the whole-batch empty-batch rejection.
func TestClientBatchRules(t *testing.T) {
	h := newHarness(t, 0, defaultOpts(11))
	backup := newHarness(t, 1, defaultOpts(11))
	b := h.batch(1)
	backup.Reject(fixture.In(spec.KindClientBatch, &b), spec.CodeNotPrimary, 0) // B1
	h.Reject(fixture.In(spec.KindClientBatch, &spec.Batch{}), spec.CodeEmptyBatch, 0)
	big := h.batch(1, 2, 3, 4, 5, 6, 7, 8, 9)                                // MaxBatchRequests is 8
	h.Reject(fixture.In(spec.KindClientBatch, &big), spec.CodeBatchLimit, 0) // B2
	for s := uint64(1); s <= h.c.Opt.L; s++ {
		h.proposeAsPrimary(h.batch(s))
	}
	h.Reject(fixture.In(spec.KindClientBatch, &b), spec.CodeWindowFull, 0) // B3
}

// TestClientBatchRequestRules covers R1–R5 inside a client batch: each failing request
// gets its own rejection with Sub = its index + 1 and is dropped; the others are
// proposed in order; a batch left empty is rejected as a whole with no state change.
func TestClientBatchRequestRules(t *testing.T) {
	seed := uint64(12)
	h := newHarness(t, 0, fixture.Options{Seed: seed, L: 32})
	c := h.c
	good := c.Request(10, 5, 2)
	bad := []struct {
		name string
		req  spec.Request
		code uint64
	}{
		{"R1 unknown client", spec.Request{Body: spec.RequestBody{Client: 11, Timestamp: 5, Ops: good.Body.Ops}, Sig: good.Sig}, spec.CodeUnknownSender},
		{"R2 no ops", c.SignRequest(spec.RequestBody{Client: 10, Timestamp: 1}), spec.CodeBatchLimit},
		{"R2 too many ops", c.Request(10, 1, 5), spec.CodeBatchLimit},
		{"R3 short op", c.SignRequest(spec.RequestBody{Client: 10, Timestamp: 1, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 16)}}}), spec.CodeBatchLimit},
		{"R3 long op", c.SignRequest(spec.RequestBody{Client: 10, Timestamp: 1, Ops: []spec.SealedOp{{Ciphertext: make([]byte, 65)}}}), spec.CodeBatchLimit},
		{"R4 timestamp 0", c.Request(10, 0, 1), spec.CodeBadTimestamp},
		{"R4 timestamp overflow", c.Request(20, math.MaxUint64, 2), spec.CodeBadTimestamp},
		{"R5 bad signature", spec.Request{Body: good.Body, Sig: c.Request(10, 6, 2).Sig}, spec.CodeBadSignature},
		{"R5 other client's sig", spec.Request{Body: spec.RequestBody{Client: 20, Timestamp: 5, Ops: good.Body.Ops}, Sig: good.Sig}, spec.CodeBadSignature},
	}
	edge := c.Request(20, math.MaxUint64, 1) // the last possible timestamp is valid
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			all := spec.Batch{Requests: []spec.Request{tc.req}}
			before := h.State()
			outs, _ := h.Step(fixture.In(spec.KindClientBatch, &all))
			rs := fixture.Rejections(outs)
			want := []spec.Rejection{{Kind: spec.KindClientBatch, Code: tc.code, Sub: 1}, {Kind: spec.KindClientBatch, Code: spec.CodeEmptyBatch}}
			if len(outs) != 2 || fmt.Sprint(rs) != fmt.Sprint(want) {
				h.Fatalf("all bad: %s", describe(outs))
			}
			if h.State() != before {
				h.Fatalf("rejected batch changed state")
			}
			mixed := spec.Batch{Requests: []spec.Request{good, tc.req, edge}}
			outs, _ = h.Step(fixture.In(spec.KindClientBatch, &mixed))
			rs = fixture.Rejections(outs)
			if len(outs) != 2 || len(rs) != 1 || rs[0] != (spec.Rejection{Kind: spec.KindClientBatch, Code: tc.code, Sub: 2}) {
				h.Fatalf("mixed: %s", describe(outs))
			}
			var pr spec.Proposal
			h.Decode(outs[1], &pr)
			kept := spec.Batch{Requests: []spec.Request{good, edge}}
			if pr.Header.Body.Digest != spec.BatchDigest(&kept) {
				h.Fatalf("proposal does not carry exactly the valid requests in order")
			}
		})
	}
}
