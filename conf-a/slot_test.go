package confa

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// TestCommitOnPrepared: a conf commits once it holds the PRE-PREPARE and 2f matching
// PREPAREs, in either arrival order, exactly once per slot (SPEC.md §10.3).
func TestCommitOnPrepared(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(10))
	c := h.c
	// PRE-PREPARE first.
	if outs := h.prepared(0, 1, dg(1), 1); len(outs) != 0 {
		h.Fatalf("commit before 2f prepares: %s", describe(outs))
	}
	cm := h.commit(h.Accept(prIn(c.Prepare(0, 1, dg(1), 3))))
	if cm.Body != (spec.Slot{View: 0, Seq: 1, Digest: dg(1), Replica: 2}) {
		h.Fatalf("commit %+v", cm.Body)
	}
	h.Reject(prIn(c.Prepare(0, 1, dg(1), 3)), spec.CodeDuplicate, 0)
	// the harness's own replica's prep also prepares: stored, no second commit.
	if outs := h.Accept(prIn(c.Prepare(0, 1, dg(1), 2))); len(outs) != 0 {
		h.Fatalf("second commit: %s", describe(outs))
	}
	// PREPAREs first, one with another digest; the PRE-PREPARE completes the slot.
	h.Accept(prIn(c.Prepare(0, 2, dg(2), 1)))
	h.Accept(prIn(c.Prepare(0, 2, dg(9), 2)))
	h.Accept(prIn(c.Prepare(0, 2, dg(2), 3)))
	h.commit(h.Accept(ppIn(c.PrePrepare(0, 2, dg(2)))))
	// mismatching PREPAREs never commit.
	h.Accept(ppIn(c.PrePrepare(0, 3, dg(3))))
	h.Accept(prIn(c.Prepare(0, 3, dg(4), 1)))
	if outs := h.Accept(prIn(c.Prepare(0, 3, dg(4), 3))); len(outs) != 0 {
		h.Fatalf("committed on mismatching prepares: %s", describe(outs))
	}
	// three matching PREPAREs before the PRE-PREPARE: the certificate takes the lowest ids.
	for _, r := range []uint64{3, 2, 1} {
		h.Accept(prIn(c.Prepare(0, 4, dg(4), r)))
	}
	h.commit(h.Accept(ppIn(c.PrePrepare(0, 4, dg(4)))))
	if pc := h.p.pset[4]; len(pc.Prepares) != 2 || pc.Prepares[0].Body.Replica != 1 || pc.Prepares[1].Body.Replica != 2 {
		h.Fatalf("certificate of seq 4: %+v", pc.Prepares)
	}
	// a certificate is formed when the slot commits and kept: replicas 1 and 3 for seq 1.
	if pc := h.p.pset[1]; len(pc.Prepares) != 2 || pc.Prepares[0].Body.Replica != 1 || pc.Prepares[1].Body.Replica != 3 {
		h.Fatalf("certificate of seq 1: %+v", pc.Prepares)
	}
	if pc := h.p.pset[2]; pc.Prepares[0].Body.Replica != 1 || pc.Prepares[1].Body.Replica != 3 {
		h.Fatalf("certificate of seq 2: %+v", pc.Prepares)
	}
	if _, st := h.Step(); st.Last != 4 {
		h.Fatalf("Last = %d, want 4", st.Last)
	}
}

// TestSlotRules covers Q1–Q8 for both kinds.
func TestSlotRules(t *testing.T) {
	h := newHarness(t, 2, defaultOpts(11))
	c := h.c
	h.Accept(ppIn(c.PrePrepare(0, 2, dg(2))))
	h.Accept(prIn(c.Prepare(0, 2, dg(2), 1)))
	badPP := c.PrePrepare(0, 3, dg(3))
	badPP.Sig[0] ^= 1
	badPr := c.Prepare(0, 3, dg(3), 1)
	badPr.Sig[63] ^= 1
	prepareAsPP := c.Prepare(0, 3, dg(3), 0) // primary's prepare-domain signature
	tests := []struct {
		name string
		in   spec.Input
		code uint64
	}{
		{"Q1 pre-prepare replica n", ppIn(spec.PrePrepare{Body: spec.Slot{Seq: 1, Replica: 4}}), spec.CodeUnknownSender},
		{"Q1 prepare replica n", prIn(spec.Prepare{Body: spec.Slot{Seq: 1, Replica: 9}}), spec.CodeUnknownSender},
		{"Q2 pre-prepare future view", ppIn(c.PrePrepare(1, 1, dg(1))), spec.CodeWrongView},
		{"Q2 prepare future view", prIn(c.Prepare(1, 1, dg(1), 3)), spec.CodeWrongView},
		{"Q4 pre-prepare not primary", ppIn(c.PrePrepareBy(1, 0, 1, dg(1))), spec.CodeNotPrimary},
		{"Q4 prepare by primary", prIn(c.Prepare(0, 1, dg(1), 0)), spec.CodeNotPrimary},
		{"Q5 pre-prepare seq 0", ppIn(c.PrePrepare(0, 0, dg(1))), spec.CodeStale},
		{"Q5 prepare seq 0", prIn(c.Prepare(0, 0, dg(1), 1)), spec.CodeStale},
		{"Q5 pre-prepare above window", ppIn(c.PrePrepare(0, 9, dg(1))), spec.CodeOutOfWindow},
		{"Q5 prepare above window", prIn(c.Prepare(0, 9, dg(1), 1)), spec.CodeOutOfWindow},
		{"Q6 pre-prepare bad sig", ppIn(badPP), spec.CodeBadSignature},
		{"Q6 prepare bad sig", prIn(badPr), spec.CodeBadSignature},
		{"Q6 prepare domain on pre-prepare", ppIn(spec.PrePrepare{Body: prepareAsPP.Body, Sig: prepareAsPP.Sig}), spec.CodeBadSignature},
		{"Q7 pre-prepare conflict", ppIn(c.PrePrepare(0, 2, dg(7))), spec.CodeConflict},
		{"Q7 prepare conflict", prIn(c.Prepare(0, 2, dg(7), 1)), spec.CodeConflict},
		{"Q8 pre-prepare duplicate", ppIn(c.PrePrepare(0, 2, dg(2))), spec.CodeDuplicate},
		{"Q8 prepare duplicate", prIn(c.Prepare(0, 2, dg(2), 1)), spec.CodeDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, tc.code, 0)
		})
	}
	h.t = t
	h.Accept(suspectIn(0))                                              // now view 1, not active
	h.Reject(ppIn(c.PrePrepare(1, 1, dg(1))), spec.CodeViewChanging, 0) // Q3
	h.Reject(prIn(c.Prepare(1, 1, dg(1), 3)), spec.CodeViewChanging, 0) // Q3
	h.Reject(ppIn(c.PrePrepare(0, 4, dg(1))), spec.CodeStale, 0)        // Q2 old view
	h.Reject(prIn(c.Prepare(2, 1, dg(1), 3)), spec.CodeWrongView, 0)    // Q2 before Q3
	h.Reject(prIn(spec.Prepare{Body: spec.Slot{View: 1, Replica: 4}}), spec.CodeUnknownSender, 0)
	if strings.Contains(h.State(), "slot ") {
		h.Fatalf("slots survive a suspicion:\n%s", h.State())
	}
}
