package prepa

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

func (h *harness) checkpoint(seq uint64, st spec.Digest, r uint64) spec.Input {
	return fixture.In(spec.KindCheckpoint, ptr(h.c.Checkpoint(seq, st, r)))
}

// TestCheckpointStable: q matching checkpoints make a stable checkpoint (SPEC.md
// §8.3): h moves, the certificate holds the lowest q ids, accepted entries ≤ h go and
// seqHigh ≥ h (§9.5); older and equal checkpoints become stale.
func TestCheckpointStable(t *testing.T) {
	h := newHarness(t, 1, defaultOpts(20))
	for s := uint64(1); s <= 3; s++ {
		h.prepareAsBackup(0, s, h.batch(s))
	}
	for _, r := range []uint64{3, 0} {
		if outs := h.Accept(h.checkpoint(4, state(1), r)); len(outs) != 0 {
			h.Fatalf("checkpoint produced %s", describe(outs))
		}
	}
	h.Accept(h.checkpoint(4, state(9), 2)) // disagreeing state: no quorum yet
	if _, st := h.Step(); st.Stable != 0 {
		h.Fatalf("stable too early")
	}
	h.Accept(h.checkpoint(4, state(1), 1))
	_, st := h.Step()
	if st.Stable != 4 || st.Last != 4 {
		h.Fatalf("status %+v, want Stable 4 Last 4", st)
	}
	dump := h.State()
	if strings.Contains(dump, "accepted ") || strings.Contains(dump, "checkpoint r=") {
		h.Fatalf("entries at or below h survive:\n%s", dump)
	}
	cert := h.p.cp.Stable()
	if cert.Seq != 4 || len(cert.Proof) != 3 || cert.Proof[0].Body.Replica != 0 || cert.Proof[1].Body.Replica != 1 || cert.Proof[2].Body.Replica != 3 {
		h.Fatalf("certificate %+v", cert)
	}
	h.Reject(h.checkpoint(4, state(1), 2), spec.CodeStale, 0)
	h.Reject(h.checkpoint(2, state(1), 2), spec.CodeStale, 0)
	// the window moved: a proposal at 12 = h + L is now inside.
	h.prepareAsBackup(0, 12, h.batch(12))
}

// TestCheckpointRules covers CP1–CP7.
func TestCheckpointRules(t *testing.T) {
	h := newHarness(t, 1, defaultOpts(21))
	c := h.c
	h.Accept(h.checkpoint(2, state(1), 0))
	h.Accept(h.checkpoint(20, state(1), 2)) // far (h + L = 8)
	badSig := c.Checkpoint(4, state(1), 0)
	badSig.Sig[0] ^= 1
	tests := []struct {
		name string
		in   spec.Input
		code uint64
	}{
		{"CP1 replica n", fixture.In(spec.KindCheckpoint, &spec.Checkpoint{Body: spec.CheckpointBody{Seq: 2, Replica: 4}}), spec.CodeUnknownSender},
		{"CP2 seq 0", h.checkpoint(0, state(1), 0), spec.CodeBadCheckpoint},
		{"CP2 not multiple of K", h.checkpoint(3, state(1), 0), spec.CodeBadCheckpoint},
		{"CP4 bad signature", fixture.In(spec.KindCheckpoint, &badSig), spec.CodeBadSignature},
		{"CP5 duplicate", h.checkpoint(2, state(1), 0), spec.CodeDuplicate},
		{"CP6 conflict", h.checkpoint(2, state(2), 0), spec.CodeConflict},
		{"CP7 lower far", h.checkpoint(18, state(1), 2), spec.CodeStale},
		{"CP5 far duplicate", h.checkpoint(20, state(1), 2), spec.CodeDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.Reject(tc.in, tc.code, 0)
		})
	}
	h.t = t
	// a higher far checkpoint replaces the sender's previous far one.
	h.Accept(h.checkpoint(22, state(1), 2))
	if strings.Contains(h.State(), "r=2 s=20 ") || !strings.Contains(h.State(), "r=2 s=22 ") {
		h.Fatalf("far checkpoint not replaced:\n%s", h.State())
	}
	h.Accept(h.checkpoint(20, state(1), 3)) // another sender's far one is independent
	h.Accept(h.checkpoint(8, state(1), 2))  // in-window ones do not touch the far one
	// CP3: after h = 2, seq 2 is stale.
	h.Accept(h.checkpoint(2, state(1), 2))
	h.Accept(h.checkpoint(2, state(1), 3))
	if _, st := h.Step(); st.Stable != 2 {
		h.Fatalf("Stable = %d, want 2", st.Stable)
	}
	h.Reject(h.checkpoint(2, state(1), 1), spec.CodeStale, 0) // CP3
}

// TestCheckpointFarStable: q far checkpoints (Seq > h + L) still make a stable
// checkpoint, and h jumps.
func TestCheckpointFarStable(t *testing.T) {
	h := newHarness(t, 0, defaultOpts(22))
	h.proposeAsPrimary(h.batch(1))
	for _, r := range []uint64{1, 2, 3} {
		h.Accept(h.checkpoint(40, state(4), r))
	}
	_, st := h.Step()
	if st.Stable != 40 || st.Last != 40 {
		h.Fatalf("status %+v", st)
	}
	if p := h.proposeAsPrimary(h.batch(2)); p.Header.Body.Seq != 41 {
		h.Fatalf("next proposal at %d, want 41", p.Header.Body.Seq)
	}
}
