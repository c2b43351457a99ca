package prepa

import (
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// TestProposalPrepares: a backup prepares valid proposals (SPEC.md §9.4), out of
// order within the window, and reports the highest as Last.
func TestProposalPrepares(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(13))
	for _, s := range []uint64{3, 1, 8} {
		b := h.batch(s)
		pr := h.c.Proposal(0, s, b)
		o := h.Only(h.Accept(fixture.In(spec.KindProposal, &pr)), spec.KindPrepare)
		h.CheckTo(o, spec.ToConf)
		var p spec.Prepare
		h.Decode(o, &p)
		want := spec.Slot{View: 0, Seq: s, Digest: spec.BatchDigest(&b), Replica: 2}
		if p.Body != want || !h.c.Verify(spec.RolePrep, 2, spec.DomainPrepare, &p.Body, p.Sig) {
			h.Fatalf("prepare %+v", p.Body)
		}
	}
	if _, st := h.Step(); st.Last != 8 {
		h.Fatalf("Last = %d, want 8", st.Last)
	}
}

// TestProposalRules covers P1–P11, each with the first rule it fails.
func TestProposalRules(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(14))
	c := h.c
	b := h.batch(1)
	d := spec.BatchDigest(&b)
	h.prepareAsBackup(0, 2, b) // accepted[(0,2)] = d
	other := h.batch(7)
	withHeader := func(pp spec.PrePrepare, batch spec.Batch) spec.Input {
		return fixture.In(spec.KindProposal, &spec.Proposal{Header: pp, Batch: batch})
	}
	bad := c.Request(10, 9, 1)
	bad.Sig[0] ^= 1
	badBatch := spec.Batch{Requests: []spec.Request{c.Request(10, 8, 1), bad}}
	nine := h.batch(1, 2, 3, 4, 5, 6, 7, 8, 9)
	unsigned := c.PrePrepare(0, 3, d)
	unsigned.Sig[5] ^= 1
	tests := []struct {
		name string
		in   spec.Input
		code uint64
		sub  uint64
	}{
		{"P1 replica n", withHeader(spec.PrePrepare{Body: spec.Slot{Seq: 1, Digest: d, Replica: 4}}, b), spec.CodeUnknownSender, 0},
		{"P2 future view", withHeader(c.PrePrepare(1, 1, d), b), spec.CodeWrongView, 0},
		{"P3 not primary", withHeader(c.PrePrepareBy(3, 0, 1, d), b), spec.CodeNotPrimary, 0},
		{"P5 seq 0", withHeader(c.PrePrepare(0, 0, d), b), spec.CodeStale, 0},
		{"P5 above window", withHeader(c.PrePrepare(0, 9, d), b), spec.CodeOutOfWindow, 0},
		{"P6 bad signature", withHeader(unsigned, b), spec.CodeBadSignature, 0},
		{"P6 prepare domain", withHeader(spec.PrePrepare{Body: c.Prepare(0, 3, d, 0).Body, Sig: c.Prepare(0, 3, d, 0).Sig}, b), spec.CodeBadSignature, 0},
		{"P7 conflict", withHeader(c.PrePrepare(0, 2, spec.BatchDigest(&other)), other), spec.CodeConflict, 0},
		{"P8 duplicate", withHeader(c.PrePrepare(0, 2, d), b), spec.CodeDuplicate, 0},
		{"P9 digest mismatch", withHeader(c.PrePrepare(0, 3, d), other), spec.CodeDigestMismatch, 0},
		{"P10 empty", withHeader(c.PrePrepare(0, 3, spec.NullBatchDigest()), spec.Batch{}), spec.CodeEmptyBatch, 0},
		{"P10 too big", withHeader(c.PrePrepare(0, 3, spec.BatchDigest(&nine)), nine), spec.CodeBatchLimit, 0},
		{"P11 bad request", fixture.In(spec.KindProposal, ptr(c.Proposal(0, 3, badBatch))), spec.CodeBadRequest, 2},
		{"P11 unknown client", fixture.In(spec.KindProposal, ptr(c.Proposal(0, 3, spec.Batch{Requests: []spec.Request{{Body: spec.RequestBody{Client: 1}}}}))), spec.CodeBadRequest, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, tc.code, tc.sub)
		})
	}
	h.t = t
	primary := newHarness(t, 0, defaultOpts(14))
	primary.Reject(fixture.In(spec.KindProposal, ptr(c.Proposal(0, 1, b))), spec.CodeNotPrimary, 0) // P4
}
