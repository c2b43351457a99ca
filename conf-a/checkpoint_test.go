package confa

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// TestCheckpointRules covers CP1–CP7 (SPEC.md §8.3) at a conf.
func TestCheckpointRules(t *testing.T) {
	h := newHarness(t, 0, defaultOpts(30))
	c := h.c
	h.Accept(h.checkpoint(2, state(1), 1))
	h.Accept(h.checkpoint(30, state(1), 2)) // far
	bad := c.Checkpoint(4, state(1), 1)
	bad.Sig[2] ^= 1
	tests := []struct {
		name string
		in   spec.Input
		code uint64
	}{
		{"CP1", fixture.In(spec.KindCheckpoint, &spec.Checkpoint{Body: spec.CheckpointBody{Seq: 2, Replica: 4}}), spec.CodeUnknownSender},
		{"CP2 zero", h.checkpoint(0, state(1), 1), spec.CodeBadCheckpoint},
		{"CP2 odd", h.checkpoint(5, state(1), 1), spec.CodeBadCheckpoint},
		{"CP4", fixture.In(spec.KindCheckpoint, &bad), spec.CodeBadSignature},
		{"CP5", h.checkpoint(2, state(1), 1), spec.CodeDuplicate},
		{"CP6", h.checkpoint(2, state(3), 1), spec.CodeConflict},
		{"CP7", h.checkpoint(12, state(1), 2), spec.CodeStale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, tc.code, 0)
		})
	}
	h.t = t
	h.Accept(h.checkpoint(32, state(1), 2))
	h.Accept(h.checkpoint(2, state(1), 2))
	h.Accept(h.checkpoint(2, state(1), 3))
	h.Reject(h.checkpoint(2, state(1), 0), spec.CodeStale, 0) // CP3
}

// TestCheckpointEffect: a stable checkpoint drops slots and prepared certificates at
// or below it and moves the window (SPEC.md §10.5).
func TestCheckpointEffect(t *testing.T) {
	h := newHarness(t, 1, defaultOpts(31))
	c := h.c
	h.commit(h.prepared(0, 2, dg(2), 2, 3))
	h.commit(h.prepared(0, 3, dg(3), 2, 3))
	h.Accept(ppIn(c.PrePrepare(0, 4, dg(4))))
	for _, r := range []uint64{0, 2, 3} {
		h.Accept(h.checkpoint(4, state(4), r))
	}
	dump := h.State()
	if strings.Contains(dump, "slot ") || strings.Contains(dump, "pset ") {
		h.Fatalf("entries at or below h survive:\n%s", dump)
	}
	if _, st := h.Step(); st.Stable != 4 || st.Last != 3 {
		h.Fatalf("status %+v", st)
	}
	h.Reject(ppIn(c.PrePrepare(0, 4, dg(4))), spec.CodeStale, 0)
	h.Accept(ppIn(c.PrePrepare(0, 12, dg(4)))) // h + L
}
