package agreea

import (
	"strings"
	"testing"

	"github.com/splitbft/splitbft/internal/stdcrypto/fixture"
	"github.com/splitbft/splitbft/spec"
)

// cluster returns a fixture cluster in which this test holds every key: n = 4, f = 1,
// q = 3, K = 2, L = 8.
func cluster(seed uint64) *fixture.Cluster { return fixture.New(fixture.Options{Seed: seed}) }

func st(b byte) spec.Digest { return spec.Digest{b, 0xcc} }

// dump returns the Dump of cp.
func dump(cp *Checkpoints) string {
	var b strings.Builder
	cp.Dump(&b)
	return b.String()
}

// checkpointState returns checkpoints at h = 4 (adopted) holding (6, st(1)) from exec
// 1 and a far checkpoint (16, st(1)) from exec 2.
func checkpointState(t *testing.T, c *fixture.Cluster) Checkpoints {
	t.Helper()
	cp := NewCheckpoints()
	cp.Stabilize(ptr(c.CheckpointCert(4, st(9), 0, 1, 2)))
	for _, ck := range []spec.Checkpoint{c.Checkpoint(6, st(1), 1), c.Checkpoint(16, st(1), 2)} {
		if cert, code := cp.Receive(c.Config, c.CD, &ck); code != 0 || cert != nil {
			t.Fatalf("setup: %+v: code %s, cert %v", ck.Body, spec.CodeName(code), cert)
		}
	}
	return cp
}

func ptr[T any](v T) *T { return &v }

// TestReceiveRules: a checkpoint failing exactly one of CP1–CP7 (SPEC.md §8.3) gets
// that line's code and leaves the state unchanged.
func TestReceiveRules(t *testing.T) {
	const seed = 11
	c := cluster(seed)
	badSig := c.Checkpoint(8, st(1), 3)
	badSig.Sig[3] ^= 1
	otherSigner := c.Checkpoint(8, st(1), 3)
	otherSigner.Body.Replica = 0
	tests := []struct {
		name string
		ck   spec.Checkpoint
		code uint64
	}{
		{"CP1 replica n", spec.Checkpoint{Body: spec.CheckpointBody{Seq: 8, State: st(1), Replica: 4}}, spec.CodeUnknownSender},
		{"CP2 seq 0", c.Checkpoint(0, st(1), 3), spec.CodeBadCheckpoint},
		{"CP2 seq not a multiple of K", c.Checkpoint(7, st(1), 3), spec.CodeBadCheckpoint},
		{"CP3 seq h", c.Checkpoint(4, st(9), 3), spec.CodeStale},
		{"CP3 seq below h", c.Checkpoint(2, st(1), 3), spec.CodeStale},
		{"CP4 corrupted signature", badSig, spec.CodeBadSignature},
		{"CP4 another exec's signature", otherSigner, spec.CodeBadSignature},
		{"CP5 same seq and state", c.Checkpoint(6, st(1), 1), spec.CodeDuplicate},
		{"CP6 same seq, other state", c.Checkpoint(6, st(2), 1), spec.CodeConflict},
		{"CP6 far, other state", c.Checkpoint(16, st(2), 2), spec.CodeConflict},
		{"CP7 far below the stored far", c.Checkpoint(14, st(1), 2), spec.CodeStale},
	}
	for _, tc := range tests {
		cp := checkpointState(t, c)
		before := dump(&cp)
		cert, code := cp.Receive(c.Config, c.CD, &tc.ck)
		if code != tc.code || cert != nil {
			t.Errorf("seed %d: %s: code %s cert %v, want %s", seed, tc.name, spec.CodeName(code), cert, spec.CodeName(tc.code))
		}
		if after := dump(&cp); after != before {
			t.Errorf("seed %d: %s: state changed:\n%s\nto\n%s", seed, tc.name, before, after)
		}
	}
}

// TestReceiveAccepts: checkpoints in the window and far ones above the sender's far
// one are stored; a far one replaces its sender's previous far one.
func TestReceiveAccepts(t *testing.T) {
	const seed = 12
	c := cluster(seed)
	cp := checkpointState(t, c)
	for _, ck := range []spec.Checkpoint{c.Checkpoint(12, st(3), 2), c.Checkpoint(18, st(3), 2), c.Checkpoint(16, st(3), 1)} {
		if cert, code := cp.Receive(c.Config, c.CD, &ck); code != 0 || cert != nil {
			t.Fatalf("seed %d: %+v: code %s cert %v, want accepted", seed, ck.Body, spec.CodeName(code), cert)
		}
	}
	got := dump(&cp)
	for _, want := range []string{"checkpoint r=1 s=6 ", "checkpoint r=1 s=16 ", "checkpoint r=2 s=12 ", "checkpoint r=2 s=18 "} {
		if !strings.Contains(got, want) {
			t.Errorf("seed %d: %q missing from\n%s", seed, want, got)
		}
	}
	if strings.Contains(got, "r=2 s=16 ") || strings.Count(got, "\ncheckpoint ") != 4 {
		t.Errorf("seed %d: the far checkpoint 16 of exec 2 was not replaced:\n%s", seed, got)
	}
}

// TestReceiveStable: the q-th matching checkpoint returns the certificate of the
// lowest replica ids, sorted; Stabilize moves h and drops the store at or below it.
func TestReceiveStable(t *testing.T) {
	const seed = 13
	c := cluster(seed)
	cp := checkpointState(t, c)
	var cert *spec.CheckpointCert
	for _, r := range []uint64{3, 0} {
		ck := c.Checkpoint(6, st(1), r)
		var code uint64
		if cert, code = cp.Receive(c.Config, c.CD, &ck); code != 0 {
			t.Fatalf("seed %d: exec %d: code %s", seed, r, spec.CodeName(code))
		}
	}
	if cert == nil || cert.Seq != 6 || cert.State != st(1) || len(cert.Proof) != 3 ||
		cert.Proof[0].Body.Replica != 0 || cert.Proof[1].Body.Replica != 1 || cert.Proof[2].Body.Replica != 3 {
		t.Fatalf("seed %d: certificate %+v", seed, cert)
	}
	if cc := NewCertChecker(c.Config); !cc.CheckpointCert(cert) || !cc.Verify(c.CD, 1) {
		t.Fatalf("seed %d: the certificate is not valid (§5.1)", seed)
	}
	cp.Stabilize(cert)
	if cp.H() != 6 || cp.Stable().Seq != 6 {
		t.Fatalf("seed %d: h %d, stable %d", seed, cp.H(), cp.Stable().Seq)
	}
	if got := dump(&cp); strings.Contains(got, "s=6 ") || !strings.Contains(got, "checkpoint r=2 s=16 ") || len(cp.store) != 1 {
		t.Fatalf("seed %d: store after stabilizing at 6:\n%s", seed, got)
	}
}

// TestStabilizeBackwardsPanics: moving h backwards (or not forward) is a broken
// invariant of the caller.
func TestStabilizeBackwardsPanics(t *testing.T) {
	c := cluster(14)
	for _, seq := range []uint64{2, 4} {
		cp := checkpointState(t, c)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Stabilize at %d with h = 4 did not panic", seq)
				}
			}()
			cp.Stabilize(ptr(c.CheckpointCert(seq, st(9), 0, 1, 2)))
		}()
	}
}

// TestCheckpointsClone: a clone is independent of the original.
func TestCheckpointsClone(t *testing.T) {
	c := cluster(15)
	cp := checkpointState(t, c)
	before := dump(&cp)
	d := cp.Clone()
	for _, ck := range []spec.Checkpoint{c.Checkpoint(6, st(1), 0), c.Checkpoint(6, st(1), 2), c.Checkpoint(18, st(1), 2)} {
		if cert, code := d.Receive(c.Config, c.CD, &ck); code != 0 {
			t.Fatalf("clone: code %s", spec.CodeName(code))
		} else if cert != nil {
			d.Stabilize(cert)
		}
	}
	if after := dump(&cp); after != before || d.H() != 6 {
		t.Fatalf("the original changed with its clone (clone h %d):\n%s\nto\n%s", d.H(), before, after)
	}
}
