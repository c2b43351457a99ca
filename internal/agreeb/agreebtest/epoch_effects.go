package agreebtest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// RunEpochChangeSwitch checks the effects of an accepted epoch change that keeps
// the compartment under test (replica 2) but admits a new exec at replica 3 and a
// new compartment of the other agreement role at replica 2 (SPEC §17.4 step 2):
// no output; view 0 and active; h = StartSeq = 3 (not a multiple of K) with the
// epoch's genesis certificate; Last = StartSeq (prep's seqHigh, conf's last, §9.2,
// §10.2); stored checkpoints dropped; the same epoch change again is stale; a
// CHECKPOINT signed under the old digest, or under the new digest by the replaced
// exec key, is rejected bad-signature; one at or below StartSeq is stale; q
// CHECKPOINTs for 4 under the new digest (the admitted exec's included)
// become stable.
func RunEpochChangeSwitch(t *testing.T, s *Setup) {
	w := NewConfigured(t, s, 2, 90)
	w.MakeStable(2)
	w.MustAccept(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(4, Digest(4), 1))))
	next := w.NextConfig(3, Digest(0x33))
	exec3 := w.Replace(&next, spec.RoleExec, 3)
	w.Replace(&next, otherRole(s.Role), 2)
	ec := w.EpochChange(&next)
	w.ExpectOutputs(w.MustAccept(Input(spec.KindEpochChange, &ec)), nil)
	if st := w.Status(); st.View != 0 || !st.ViewActive || st.Stable != 3 || st.Last != 3 || !st.Configured {
		t.Fatalf("seed %d: status %+v, want view 0 active, stable 3, last 3", w.Seed, st)
	}
	dump := w.P.DebugState()
	genesis := next.GenesisCert()
	if !strings.Contains(dump, fmt.Sprintf("stable seq=3 state=%x proof=%x\n", Digest(0x33), spec.Encode(&genesis))) ||
		!strings.Contains(dump, " epoch=1 start=3 ") || hasLine(dump, "checkpoint from=") || !hasLine(dump, "retired=false") {
		t.Fatalf("seed %d: state after the epoch change:\n%s", w.Seed, dump)
	}
	w.ExpectReject(Input(spec.KindEpochChange, &ec), spec.CodeStale, 0) // EC2 in epoch 1
	w.ExpectReject(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(4, Digest(4), 0))), spec.CodeBadSignature, 0)
	w.Enter(&next)
	w.ExpectReject(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(4, Digest(4), 3))), spec.CodeBadSignature, 0) // exec 3's old key
	w.SetKey(spec.RoleExec, 3, exec3)
	w.ExpectReject(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(2, Digest(2), 0))), spec.CodeStale, 0) // CP3: 2 ≤ h = 3
	for _, r := range []uint64{3, 1, 0} {
		w.MustAccept(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(4, Digest(4), r))))
	}
	cert := w.CheckpointCert(4, Digest(4), 0, 1, 3)
	if st := w.Status(); st.Stable != 4 || !strings.Contains(w.P.DebugState(), fmt.Sprintf("proof=%x\n", spec.Encode(&cert))) {
		t.Fatalf("seed %d: status %+v, want stable 4 with the proof of 0, 1, 3:\n%s", w.Seed, st, w.P.DebugState())
	}
}

// RunEpochRetire checks §17.4 step 1: an epoch change that gives this
// compartment's slot (replica 2) a new key is accepted without output; the status
// keeps its last values; every later input, of any kind, valid or not, is
// rejected retired and changes nothing.
func RunEpochRetire(t *testing.T, s *Setup) {
	w := NewConfigured(t, s, 2, 91)
	w.MakeStable(2)
	before := w.Status()
	next := w.NextConfig(2, Digest(2))
	w.Replace(&next, s.Role, 2)
	ec := w.EpochChange(&next)
	w.ExpectOutputs(w.MustAccept(Input(spec.KindEpochChange, &ec)), nil)
	if st := w.Status(); !bytes.Equal(spec.Encode(&st), spec.Encode(&before)) {
		t.Fatalf("seed %d: status %+v after retiring, want %+v", w.Seed, st, before)
	}
	if !hasLine(w.P.DebugState(), "retired=true") {
		t.Fatalf("seed %d: not retired:\n%s", w.Seed, w.P.DebugState())
	}
	old := w.Checkpoint(4, Digest(4), 0)
	w.Enter(&next)
	after := w.NextConfig(4, Digest(4))
	cases := []Case{
		{"checkpoint under the old digest", Input(spec.KindCheckpoint, &old), spec.CodeRetired},
		{"checkpoint under the new digest", Input(spec.KindCheckpoint, Ptr(w.Checkpoint(4, Digest(4), 0))), spec.CodeRetired},
		{"configure", Input(spec.KindConfigure, &spec.Configure{Config: spec.Encode(&next)}), spec.CodeRetired},
		{"the epoch change again", Input(spec.KindEpochChange, &ec), spec.CodeRetired},
		{"the next epoch change", Input(spec.KindEpochChange, Ptr(w.EpochChange(&after))), spec.CodeRetired},
		{"unknown kind", spec.Input{Kind: 99}, spec.CodeRetired},
		{"malformed body", spec.Input{Kind: spec.KindCheckpoint, Body: []byte{0x80}}, spec.CodeRetired},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { w.T = t; w.ExpectReject(c.In, c.Code, 0) })
	}
}

// StartAt5 makes cfg epoch 1 of a cluster that starts at StartSeq 5 (not a
// multiple of K) with state Digest(0x55).
func StartAt5(cfg *spec.Config) {
	cfg.Epoch, cfg.Prev, cfg.StartSeq, cfg.StartState = 1, Digest(0xee), 5, Digest(0x55)
}

// RunEpochStart checks configure with StartSeq = 5 (SPEC §8.1, §17.1) at replica
// 2: h = Last = 5 (§9.2, §10.2); CP3 rejects a CHECKPOINT for 4 as stale and
// accepts one for 6; and K1/K2 of §5.1 through a NEW-VIEW for view 1: the epoch's
// genesis certificate (5, Digest(0x55), no proof) is valid, while another state, a
// proof, the epoch-0 genesis, a certificate below 5, one not at a multiple of K and
// a short proof are not; the NEW-VIEW whose best certificate is for 6 is accepted
// and adopted.
func RunEpochStart(t *testing.T, s *Setup) {
	w := NewConfiguredWith(t, s, 2, 92, StartAt5)
	if st := w.Status(); st.Stable != 5 || st.Last != 5 || st.View != 0 || !st.ViewActive {
		t.Fatalf("seed %d: status %+v after configure, want stable 5, last 5", w.Seed, st)
	}
	w.ExpectReject(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(4, Digest(4), 0))), spec.CodeStale, 0)
	w.MustAccept(Input(spec.KindCheckpoint, Ptr(w.Checkpoint(6, Digest(6), 0))))
	genesis := w.Cfg.GenesisCert()
	withProof := genesis
	withProof.Proof = w.CheckpointCert(5, Digest(0x55), 0, 1, 2).Proof
	bad := []struct {
		name   string
		stable spec.CheckpointCert
	}{
		{"K1 another state", spec.CheckpointCert{Seq: 5, State: Digest(0x56)}},
		{"K1 with a proof", withProof},
		{"K2 the epoch-0 genesis", spec.CheckpointCert{}},
		{"K2 below StartSeq", w.CheckpointCert(4, Digest(4), 0, 1, 2)},
		{"K2 not a multiple of K", w.CheckpointCert(7, Digest(7), 0, 1, 2)},
		{"K2 short proof", w.CheckpointCert(6, Digest(6), 0, 1)},
	}
	newView := func(stable spec.CheckpointCert) spec.Input {
		vcs := []spec.ViewChange{w.ViewChange(1, 0, stable), w.ViewChange(1, 2, genesis), w.ViewChange(1, 3, genesis)}
		return Input(spec.KindNewView, Ptr(w.NewView(1, vcs, nil)))
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) { w.T = t; w.ExpectReject(newView(c.stable), spec.CodeBadCertificate, 0) })
	}
	w.T = t
	w.MustAccept(newView(w.CheckpointCert(6, Digest(6), 0, 1, 2)))
	if st := w.Status(); st.Stable != 6 || st.View != 1 {
		t.Fatalf("seed %d: status %+v, want view 1, stable 6", w.Seed, st)
	}
}

// RunEpochRetireAsF3 checks that §17.4 step 1 compares this compartment's slot
// (replica 2) as F3 does: an epoch change that gives the slot another build name
// (accepted by a new build policy) but the same keys switches to the new epoch
// (h = Last = StartSeq = 2, not retired); one that also gives it a new key
// retires it with its status as it was.
func RunEpochRetireAsF3(t *testing.T, s *Setup) {
	cases := []struct {
		name   string
		newKey bool
	}{
		{"new build, same keys", false},
		{"new build, new key", true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewConfigured(t, s, 2, 300+int64(i))
			want := w.Status()
			next := w.NextConfig(2, Digest(2))
			if c.newKey {
				w.Replace(&next, s.Role, 2)
			} else {
				want.Stable, want.Last = 2, 2
			}
			next.Builds = append(next.Builds, spec.BuildPolicy{Role: s.Role, Build: []byte("other-build")})
			ownEnrollment(&next, s.Role, 2).Body.Build = []byte("other-build")
			w.ExpectOutputs(w.MustAccept(Input(spec.KindEpochChange, Ptr(w.EpochChange(&next)))), nil)
			st := w.Status()
			if !bytes.Equal(spec.Encode(&st), spec.Encode(&want)) || !hasLine(w.P.DebugState(), fmt.Sprintf("retired=%v", c.newKey)) {
				t.Fatalf("seed %d: status %+v, want %+v, retired %v:\n%s", w.Seed, st, want, c.newKey, w.P.DebugState())
			}
		})
	}
}
