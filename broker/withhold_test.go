package broker

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/spec"
)

// TestWithheldInputs: the broker does not hand a compartment what its own rules
// would reject as stale by its latest status (a CHECKPOINT at or below its stable
// checkpoint, a COMMIT to exec at or below what exec executed), nor a PRE-PREPARE or
// PREPARE for a slot its conf committed in that view (SPEC.md §13.3 obligation 7);
// everything else still reaches it, nothing is withheld from an exec that says it is
// not configured, and a conf that is taken out of service forgets what it committed.
func TestWithheldInputs(t *testing.T) {
	w := newWorld(t, 1, 8, 91)
	h := harnessIn(w, 1, Options{})
	prep, conf, exec := h.enc[spec.RolePrep], h.enc[spec.RoleConf], h.enc[spec.RoleExec]
	prep.st.Stable, conf.st.Stable = 16, 16
	exec.st.Stable, exec.st.Last = 16, 20
	d := spec.Digest{4}
	slot := func(view, seq, replica uint64) spec.Slot {
		return spec.Slot{View: view, Seq: seq, Digest: d, Replica: replica}
	}
	prepare := func(view, seq, replica uint64) *spec.Prepare {
		s := slot(view, seq, replica)
		return &spec.Prepare{Body: s, Sig: w.sign(replica, spec.RolePrep, spec.DomainPrepare, &s)}
	}
	commit := func(view, seq, replica uint64) *spec.Commit {
		s := slot(view, seq, replica)
		return &spec.Commit{Body: s, Sig: w.sign(replica, spec.RoleConf, spec.DomainCommit, &s)}
	}
	// conf commits slot (0, 21) on its first PREPARE for it.
	conf.script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		var p spec.Prepare
		if in.Kind != spec.KindPrepare || spec.Decode(in.Body, &p, spec.MaxMessageBytes) != nil || p.Body.View != 0 || p.Body.Seq != 21 {
			return nil
		}
		c := commit(0, 21, 1)
		return []spec.Output{{Kind: spec.KindCommit, To: spec.Destination{Roles: spec.ToExec, Replicas: []uint64{0, 1, 2, 3}}, Body: spec.Encode(c)}}
	}
	h.peer(2, spec.KindCheckpoint, w.checkpoint(2, 32, spec.Digest{1})) // every compartment steps once: the broker learns their status
	h.r.Flush()

	type sent struct {
		kind uint64
		body any
	}
	seqOf := func(in spec.Input) [2]uint64 {
		v, err := spec.DecodeKind(in.Kind, in.Body)
		if err != nil {
			t.Fatal(err)
		}
		view, seq, _, _ := slotOf(v)
		return [2]uint64{view, seq}
	}
	got := func(f *fakeEnclave, kind uint64) [][2]uint64 {
		var out [][2]uint64
		for _, in := range f.inputs() {
			if in.Kind == kind {
				out = append(out, seqOf(in))
			}
		}
		return out
	}
	for _, m := range []struct {
		from uint64
		sent
	}{
		{2, sent{spec.KindPrepare, prepare(0, 21, 2)}},                      // conf commits (0, 21) and sends its COMMIT to the local exec
		{3, sent{spec.KindPrepare, prepare(0, 21, 3)}},                      // withheld: conf committed (0, 21)
		{3, sent{spec.KindPrepare, prepare(1, 21, 3)}},                      // another view: delivered
		{3, sent{spec.KindPrepare, prepare(0, 22, 3)}},                      // another slot: delivered
		{3, sent{spec.KindPrepare, prepare(0, 16, 3)}},                      // withheld: at conf's stable checkpoint
		{2, sent{spec.KindCommit, commit(0, 20, 2)}},                        // withheld: exec executed 20
		{3, sent{spec.KindCommit, commit(0, 21, 3)}},                        // delivered
		{3, sent{spec.KindCheckpoint, w.checkpoint(3, 16, spec.Digest{1})}}, // withheld from all three: stable is 16
	} {
		h.peer(m.from, m.kind, m.body)
		h.r.Flush()
	}
	if diff := cmp.Diff([][2]uint64{{0, 21}, {1, 21}, {0, 22}}, got(conf, spec.KindPrepare)); diff != "" {
		t.Errorf("PREPAREs delivered to conf (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][2]uint64{{0, 21}, {0, 21}}, got(exec, spec.KindCommit)); diff != "" {
		t.Errorf("COMMITs delivered to exec, its own conf's first (-want +got):\n%s", diff)
	}
	for _, f := range h.enc {
		if diff := cmp.Diff([][2]uint64{{0, 32}}, got(f, spec.KindCheckpoint)); diff != "" {
			t.Errorf("CHECKPOINTs delivered to %s (-want +got):\n%s", spec.RoleName(f.role), diff)
		}
	}
	if want := [3]uint64{1, 3, 2}; h.r.Metrics().Withheld != want {
		t.Errorf("Withheld = %v, want %v", h.r.Metrics().Withheld, want)
	}

	// An exec that says it is not configured (replaying) gets what it would reject.
	exec.st.Configured = false
	h.peer(2, spec.KindCommit, commit(0, 22, 2))
	h.r.Flush()
	h.peer(2, spec.KindCommit, commit(0, 5, 2))
	h.r.Flush()
	if diff := cmp.Diff([][2]uint64{{0, 21}, {0, 21}, {0, 22}, {0, 5}}, got(exec, spec.KindCommit)); diff != "" {
		t.Errorf("COMMITs delivered to an unconfigured exec (-want +got):\n%s", diff)
	}

	// A conf taken out of service: its successor gets every PREPARE.
	if len(h.r.confDone) == 0 {
		t.Fatal("the broker recorded no slot its conf committed")
	}
	h.r.Down(spec.RoleConf)
	if len(h.r.confDone) != 0 {
		t.Errorf("after Down(conf) the broker still withholds PREPAREs for %v", h.r.confDone)
	}
}

// TestReplacedStatusIgnored: when an output of a Step installs a fresh instance of
// the stepping compartment, the old instance's Status at the end of that Step is not
// taken for the fresh one's (withheld and the archive read it).
func TestReplacedStatusIgnored(t *testing.T) {
	w := newWorld(t, 1, 8, 93)
	h := harnessIn(w, 1, Options{MaxFlushRounds: 1})
	old := h.enc[spec.RoleConf]
	old.st.View, old.st.Stable = 3, 16
	fresh := &fakeEnclave{role: spec.RoleConf, st: spec.Status{Role: spec.RoleConf, Replica: 1, Configured: true, View: 9}}
	old.script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		h.r.install(&Fresh{Role: spec.RoleConf, Enclave: fresh}) // as an epoch change adopted in this Step would
		return nil
	}
	h.peer(2, spec.KindCheckpoint, w.checkpoint(2, 32, spec.Digest{1}))
	h.r.Flush()
	if st := h.r.status[spec.RoleConf]; st.Configured || st.View != 0 {
		t.Errorf("after the install the broker holds status %+v for conf, want the fresh instance's unconfigured one", st)
	}
	h.r.Flush() // the fresh conf's configure
	if st := h.r.status[spec.RoleConf]; st.View != 9 {
		t.Errorf("status %+v after the fresh conf's first Step, want its own (view 9)", st)
	}
}

// TestWithheldKeepsSourcesAligned: when a Step's queue holds withheld inputs among
// delivered ones, a rejection still names the right input, so the bad signature of
// one peer's message is charged to that peer and not to the sender of a withheld one.
func TestWithheldKeepsSourcesAligned(t *testing.T) {
	w := newWorld(t, 1, 8, 94)
	h := harnessIn(w, 1, Options{})
	conf := h.enc[spec.RoleConf]
	conf.st.Stable = 16
	d := spec.Digest{4}
	prepare := func(seq, replica uint64) *spec.Prepare {
		s := spec.Slot{Seq: seq, Digest: d, Replica: replica}
		return &spec.Prepare{Body: s, Sig: w.sign(replica, spec.RolePrep, spec.DomainPrepare, &s)}
	}
	// conf rejects every PREPARE of replica 3 as badly signed, naming its index.
	conf.script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		var p spec.Prepare
		if in.Kind != spec.KindPrepare || spec.Decode(in.Body, &p, spec.MaxMessageBytes) != nil || p.Body.Replica != 3 {
			return nil
		}
		step := f.steps[len(f.steps)-1]
		for i := range step {
			if string(step[i].Body) == string(in.Body) {
				rj := spec.Rejection{Index: uint64(i), Kind: spec.KindPrepare, Code: spec.CodeBadSignature}
				return []spec.Output{{Kind: spec.KindReject, Body: spec.Encode(&rj)}}
			}
		}
		t.Fatal("the input is not in its own Step")
		return nil
	}
	h.peer(2, spec.KindCheckpoint, w.checkpoint(2, 32, spec.Digest{1})) // conf reports stable 16
	h.r.Flush()
	h.peer(2, spec.KindPrepare, prepare(10, 2)) // withheld: at or below conf's stable checkpoint
	h.peer(2, spec.KindPrepare, prepare(12, 2)) // withheld
	h.peer(3, spec.KindPrepare, prepare(20, 3)) // delivered, rejected
	h.r.Flush()
	if n := len(conf.steps[len(conf.steps)-1]); n != 1 {
		t.Fatalf("conf's last Step had %d inputs, want the one PREPARE that is not withheld", n)
	}
	burst := h.r.opt.PeerJunkBurst
	if b := h.r.junk[[2]uint64{3, uint64(spec.RoleConf)}]; b == nil || b.tokens != burst-1 {
		t.Errorf("peer 3's budget at conf: %+v, want one token spent of %d", b, burst)
	}
	if b := h.r.junk[[2]uint64{2, uint64(spec.RoleConf)}]; b != nil && b.tokens != burst {
		t.Errorf("peer 2's budget at conf: %d tokens of %d, want none spent", b.tokens, burst)
	}
}
