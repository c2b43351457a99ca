package broker

import (
	"slices"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

// gateWorld is replica 1 (a backup of view 0, n = 4, f = 1, L = 8) with the gate on,
// and makers of signed PREPAREs and COMMITs.
type gateWorld struct {
	*harness
	prepare func(view, seq, replica uint64, d spec.Digest) *spec.Prepare
	commit  func(view, seq, replica uint64, d spec.Digest) *spec.Commit
}

func newGateWorld(t *testing.T, opt Options) gateWorld {
	w := newWorld(t, 1, 8, 77)
	if opt.GateTicks == 0 {
		opt.GateTicks = 2
	}
	return gateWorld{
		harness: harnessIn(w, 1, opt),
		prepare: func(view, seq, replica uint64, d spec.Digest) *spec.Prepare {
			s := spec.Slot{View: view, Seq: seq, Digest: d, Replica: replica}
			return &spec.Prepare{Body: s, Sig: w.sign(replica, spec.RolePrep, spec.DomainPrepare, &s)}
		},
		commit: func(view, seq, replica uint64, d spec.Digest) *spec.Commit {
			s := spec.Slot{View: view, Seq: seq, Digest: d, Replica: replica}
			return &spec.Commit{Body: s, Sig: w.sign(replica, spec.RoleConf, spec.DomainCommit, &s)}
		},
	}
}

// stepKinds returns the kinds of each Step call role's enclave got.
func (g gateWorld) stepKinds(role spec.Role) [][]uint64 {
	var out [][]uint64
	for _, s := range g.enc[role].steps {
		var k []uint64
		for _, in := range s {
			k = append(k, in.Kind)
		}
		out = append(out, k)
	}
	return out
}

func wantSteps(t *testing.T, g gateWorld, role spec.Role, when string, want [][]uint64) {
	t.Helper()
	if got := g.stepKinds(role); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("%s: %s's Step calls got kinds %v, want %v", when, spec.RoleName(role), got, want)
	}
}

// TestGateOneStepPerSlot: a backup hands conf a slot's PRE-PREPARE and PREPAREs in one
// Step call, when the 2f-th matching PREPARE arrives (its own prep's counts), and exec
// the slot's batch and COMMITs in one, when the (2f+1)-th COMMIT arrives (the batch is
// no vote); what comes for the slot later goes at once.
func TestGateOneStepPerSlot(t *testing.T) {
	g := newGateWorld(t, Options{})
	prop, _ := testProposal(g.w, t)
	d := prop.Header.Body.Digest
	g.enc[spec.RolePrep].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		if in.Kind != spec.KindProposal {
			return nil
		}
		return []spec.Output{{Kind: spec.KindPrepare, To: spec.Destination{Roles: spec.ToConf, Replicas: allReplicas}, Body: spec.Encode(g.prepare(0, 1, 1, d))}}
	}
	g.peer(0, spec.KindProposal, prop)
	g.peer(3, spec.KindPrepare, g.prepare(0, 1, 3, spec.Digest{9})) // another digest
	g.r.Flush()                                                     // prep emits its PREPARE: one matching
	wantSteps(t, g, spec.RoleConf, "one matching PREPARE", nil)
	p, pp := spec.KindPrepare, spec.KindPrePrepare
	g.peer(3, spec.KindPrepare, g.prepare(0, 1, 3, d)) // replica 3's second PREPARE: no vote (conf: Q7 conflict), at once
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "replica 3's second PREPARE", [][]uint64{{p}})
	g.peer(2, spec.KindPrepare, g.prepare(0, 1, 2, d))
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "two matching PREPAREs", [][]uint64{{p}, {pp, p, p, p}})

	for _, from := range []uint64{2, 3} {
		g.peer(from, spec.KindCommit, g.commit(0, 1, from, d))
	}
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "the batch and two COMMITs", nil)
	g.peer(0, spec.KindCommit, g.commit(0, 1, 0, d))
	g.r.Flush()
	c := spec.KindCommit
	wantSteps(t, g, spec.RoleExec, "three COMMITs", [][]uint64{{spec.KindBatch, c, c, c}})

	g.peer(0, spec.KindCommit, g.commit(0, 1, 0, d)) // the slot is open: at once
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "a COMMIT for an open slot", [][]uint64{{spec.KindBatch, c, c, c}, {c}})
	m := g.r.Metrics()
	if m.Gated != [3]uint64{0, 3, 3} || m.GateTimeouts != [3]uint64{} { // the input completing a count is not held
		t.Errorf("Gated %v, GateTimeouts %v; want [0 3 3] and none", m.Gated, m.GateTimeouts)
	}
	if z := g.r.Sizes(); z.Gated != [3]int{} {
		t.Errorf("held %v after release", z.Gated)
	}
}

// TestGateIgnoresRelayedVotes: a PREPARE or COMMIT that a broker sends in another
// replica's name is neither held nor counted (correct brokers send only their own).
func TestGateIgnoresRelayedVotes(t *testing.T) {
	g := newGateWorld(t, Options{})
	d := spec.Digest{2}
	g.peer(3, spec.KindPrepare, g.prepare(0, 1, 2, d))
	g.r.Flush()
	p := spec.KindPrepare
	wantSteps(t, g, spec.RoleConf, "a relayed PREPARE", [][]uint64{{p}})
	g.peer(3, spec.KindPrepare, g.prepare(0, 1, 3, d))
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "replica 3's own PREPARE, one vote", [][]uint64{{p}})
	g.peer(2, spec.KindPrepare, g.prepare(0, 1, 2, d))
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "replica 2's own PREPARE, the second vote", [][]uint64{{p}, {p, p}})
}

// TestGateReleasesByAge: inputs whose slot never completes its quorum reach the
// compartment after GateTicks ticks, and the slot is then open.
func TestGateReleasesByAge(t *testing.T) {
	g := newGateWorld(t, Options{GateTicks: 3})
	d := spec.Digest{5}
	g.peer(2, spec.KindPrepare, g.prepare(0, 3, 2, d))
	g.r.Tick()
	g.peer(3, spec.KindPrepare, g.prepare(0, 2, 3, d)) // a later slot's wait starts later
	g.peer(2, spec.KindPrepare, g.prepare(0, 2, 2, spec.Digest{6}))
	g.r.Tick() // seq 3's input was held at tick 0, seq 2's at tick 1
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "before GateTicks", nil)
	g.peer(3, spec.KindPrepare, g.prepare(0, 3, 3, spec.Digest{6})) // held in seq 3: its wait is not restarted
	g.r.Tick()
	g.r.Flush()
	p := spec.KindPrepare
	wantSteps(t, g, spec.RoleConf, "after GateTicks for seq 3", [][]uint64{{p, p}})
	g.r.Tick()
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "after GateTicks for seq 2", [][]uint64{{p, p}, {p, p}})
	g.peer(3, spec.KindPrepare, g.prepare(0, 2, 1, d))
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "a PREPARE for a released slot", [][]uint64{{p, p}, {p, p}, {p}})
	if m := g.r.Metrics(); m.GateTimeouts[spec.RoleConf] != 4 {
		t.Errorf("GateTimeouts %v, want the 4 inputs released by age at conf", m.GateTimeouts)
	}
	g.peer(2, spec.KindCommit, g.commit(0, 2, 2, d))
	for range 3 {
		g.r.Flush()
		wantSteps(t, g, spec.RoleExec, "a COMMIT before GateTicks", nil)
		g.r.Tick()
	}
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "a COMMIT after GateTicks", [][]uint64{{spec.KindCommit}})
}

// TestGatePassesWhatItDoesNotHold: the gate holds only a configured compartment's
// slots inside its window, conf's only in its current, active view, exec's only above
// what it executed, and never a message naming a replica outside the cluster.
func TestGatePassesWhatItDoesNotHold(t *testing.T) {
	d := spec.Digest{6}
	p, c := spec.KindPrepare, spec.KindCommit
	cases := []struct {
		name  string
		setup func(g gateWorld)
		send  func(g gateWorld)
		role  spec.Role
		kind  uint64
	}{
		{"another view", nil, func(g gateWorld) { g.peer(2, p, g.prepare(1, 2, 2, d)) }, spec.RoleConf, p},
		{"conf changing views", func(g gateWorld) { g.enc[spec.RoleConf].st.ViewActive = false }, func(g gateWorld) { g.peer(2, p, g.prepare(0, 2, 2, d)) }, spec.RoleConf, p},
		{"conf not configured", func(g gateWorld) { g.enc[spec.RoleConf].st.Configured = false }, func(g gateWorld) { g.peer(2, p, g.prepare(0, 2, 2, d)) }, spec.RoleConf, p},
		{"beyond the window", nil, func(g gateWorld) { g.peer(2, p, g.prepare(0, 9, 2, d)) }, spec.RoleConf, p},
		{"an unknown sender", nil, func(g gateWorld) { g.peer(2, p, &spec.Prepare{Body: spec.Slot{Seq: 2, Digest: d, Replica: 4}}) }, spec.RoleConf, p},
		{"exec replaying", func(g gateWorld) { g.enc[spec.RoleExec].st.Configured = false }, func(g gateWorld) { g.peer(2, c, g.commit(0, 2, 2, d)) }, spec.RoleExec, c},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateWorld(t, Options{})
			if tc.setup != nil {
				tc.setup(g)
				g.peer(2, spec.KindCheckpoint, g.w.checkpoint(2, 4, spec.Digest{1})) // every compartment reports its status
				g.r.Flush()
			}
			before := len(g.enc[tc.role].steps)
			tc.send(g)
			g.r.Flush()
			if got := g.stepKinds(tc.role)[before:]; !slices.EqualFunc(got, [][]uint64{{tc.kind}}, slices.Equal) {
				t.Fatalf("%s got %v, want it at once", spec.RoleName(tc.role), got)
			}
		})
	}
}

// TestGateBounded: held inputs count towards a compartment's queue bound: the gate
// holds nothing more while held and queued inputs fill QueueLimit, and before it
// queues another input it releases its slots, the longest held first, so that as
// many inputs are dropped as without the gate (one of five, the oldest queued).
func TestGateBounded(t *testing.T) {
	g := newGateWorld(t, Options{QueueLimit: 4})
	g.peer(2, spec.KindPrepare, g.prepare(0, 2, 2, spec.Digest{7}))
	g.r.Tick()
	g.peer(2, spec.KindPrepare, g.prepare(0, 1, 2, spec.Digest{7}))
	g.peer(2, spec.KindCheckpoint, g.w.checkpoint(2, 4, spec.Digest{1}))
	g.peer(3, spec.KindCheckpoint, g.w.checkpoint(3, 4, spec.Digest{1}))
	if z := g.r.Sizes(); z.Gated[spec.RoleConf] != 2 || z.Inputs[spec.RoleConf] != 2 {
		t.Fatalf("gate holds %d, queue has %d; want 2 and 2", z.Gated[spec.RoleConf], z.Inputs[spec.RoleConf])
	}
	g.peer(3, spec.KindPrepare, g.prepare(0, 3, 3, spec.Digest{7}))
	if z, m := g.r.Sizes(), g.r.Metrics(); z.Gated[spec.RoleConf] != 0 || z.Inputs[spec.RoleConf] != 4 || m.QueueDrops != 1 {
		t.Fatalf("gate holds %d, queue has %d, %d dropped; want 0, 4 and 1", z.Gated[spec.RoleConf], z.Inputs[spec.RoleConf], m.QueueDrops)
	}
	g.r.Flush()
	var seqs []uint64
	for _, in := range g.enc[spec.RoleConf].inputs() {
		if in.Kind == spec.KindPrepare {
			var p spec.Prepare
			if err := spec.Decode(in.Body, &p, spec.MaxMessageBytes); err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, p.Body.Seq)
		}
	}
	if want := []uint64{2, 1, 3}; !slices.Equal(seqs, want) || len(g.enc[spec.RoleConf].inputs()) != 4 {
		t.Fatalf("conf got %v, the PREPAREs of seqs %v; want 4 inputs, with the PREPAREs of %v: seq 2's, held first, released first", g.enc[spec.RoleConf].kinds(), seqs, want)
	}
}

// TestGateForgetsStableSlots: when the compartment's stable checkpoint passes a held
// slot, its inputs are queued (and withheld as stale) and the slot is forgotten.
func TestGateForgetsStableSlots(t *testing.T) {
	g := newGateWorld(t, Options{})
	g.peer(2, spec.KindPrepare, g.prepare(0, 3, 2, spec.Digest{8}))
	g.r.Flush()
	g.enc[spec.RoleConf].st.Stable = 4
	g.peer(2, spec.KindCheckpoint, g.w.checkpoint(2, 4, spec.Digest{1}))
	g.r.Flush() // conf reports stable 4
	g.r.Flush()
	if m := g.r.Metrics(); m.Withheld[spec.RoleConf] != 1 || len(g.r.gates[spec.RoleConf].slots) != 0 || g.r.gates[spec.RoleConf].held != 0 {
		t.Fatalf("withheld %d, %d slots and %d inputs kept; want the PREPARE withheld and nothing kept",
			m.Withheld[spec.RoleConf], len(g.r.gates[spec.RoleConf].slots), g.r.gates[spec.RoleConf].held)
	}
}

// TestGateForgetsStableBatch: a batch the gate held for a slot that exec's stable
// checkpoint then passed is not handed to exec (SPEC §13.3 obligation 7).
func TestGateForgetsStableBatch(t *testing.T) {
	g := newGateWorld(t, Options{})
	prop, _ := testProposal(g.w, t) // seq 1
	g.peer(0, spec.KindProposal, prop)
	g.r.Flush()
	g.enc[spec.RoleExec].st.Stable, g.enc[spec.RoleExec].st.Last = 4, 4
	g.peer(2, spec.KindCheckpoint, g.w.checkpoint(2, 4, spec.Digest{1}))
	g.r.Flush()
	g.r.Flush()
	for _, in := range g.enc[spec.RoleExec].inputs() {
		if in.Kind == spec.KindBatch {
			t.Fatalf("exec got the batch of seq 1 after its stable checkpoint 4 passed it (steps %v)", g.stepKinds(spec.RoleExec))
		}
	}
	if m := g.r.Metrics(); m.Withheld[spec.RoleExec] != 1 {
		t.Errorf("withheld %v, want the batch withheld at exec", m.Withheld)
	}
}

// TestGateCountsWhatItPasses: a PREPARE queued at once (conf had not reported its new
// view yet) still counts towards its slot, so the next matching one completes it.
func TestGateCountsWhatItPasses(t *testing.T) {
	g := newGateWorld(t, Options{})
	d := spec.Digest{3}
	conf := g.enc[spec.RoleConf]
	conf.st.View, conf.st.ViewActive = 1, false
	g.peer(3, spec.KindCheckpoint, g.w.checkpoint(3, 4, spec.Digest{1})) // conf reports: view 1, changing
	g.r.Flush()
	g.peer(2, spec.KindPrepare, g.prepare(1, 1, 2, d)) // not held: conf is changing views
	g.r.Flush()
	conf.st.ViewActive = true
	g.peer(3, spec.KindCheckpoint, g.w.checkpoint(3, 8, spec.Digest{1})) // conf reports: view 1, active
	g.r.Flush()
	before := len(conf.steps)
	g.peer(3, spec.KindPrepare, g.prepare(1, 1, 3, d))
	g.r.Flush()
	if got := g.stepKinds(spec.RoleConf)[before:]; !slices.EqualFunc(got, [][]uint64{{spec.KindPrepare}}, slices.Equal) {
		t.Fatalf("conf got %v for the second matching PREPARE, want it at once", got)
	}
}

// TestGateVotesPerViewAndDigest: votes for another view or digest do not add up, a
// replica has one vote per slot, and a vote in a higher view replaces its vote (as
// exec keeps the COMMIT of the higher view, E7).
func TestGateVotesPerViewAndDigest(t *testing.T) {
	g := newGateWorld(t, Options{})
	d := spec.Digest{4}
	g.peer(2, spec.KindCommit, g.commit(0, 2, 2, d))
	g.peer(3, spec.KindCommit, g.commit(1, 2, 3, d))
	g.peer(0, spec.KindCommit, g.commit(0, 2, 0, spec.Digest{5}))
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "one vote each for (0, d), (1, d), (0, d')", nil)
	c := spec.KindCommit
	g.peer(0, spec.KindCommit, g.commit(1, 2, 0, d)) // replaces replica 0's view-0 vote; a second COMMIT of 0: at once
	g.peer(3, spec.KindCommit, g.commit(0, 2, 3, d)) // a lower view: no vote; at once
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "two votes for (1, d), one for (0, d)", [][]uint64{{c, c}})
	g.peer(2, spec.KindCommit, g.commit(1, 2, 2, d))
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "three votes for (1, d)", [][]uint64{{c, c}, {c, c, c, c}})
}

// TestGateHoldsOnlyLiveSlots: exec's executed slots and slots at or below a
// compartment's stable checkpoint are not held (withheld instead), and a reset of
// the compartment's inputs (a replacement, an epoch) drops what the gate holds.
func TestGateHoldsOnlyLiveSlots(t *testing.T) {
	g := newGateWorld(t, Options{})
	exec, conf := g.enc[spec.RoleExec], g.enc[spec.RoleConf]
	exec.st.Last, conf.st.Stable = 5, 4
	g.peer(2, spec.KindCheckpoint, g.w.checkpoint(2, 4, spec.Digest{1}))
	g.r.Flush()
	g.peer(2, spec.KindCommit, g.commit(0, 3, 2, spec.Digest{1}))   // executed
	g.peer(2, spec.KindPrepare, g.prepare(0, 4, 2, spec.Digest{1})) // at conf's stable checkpoint
	if z := g.r.Sizes(); z.Gated != [3]int{} {
		t.Fatalf("gate holds %v, want nothing", z.Gated)
	}
	g.r.Flush()
	if m := g.r.Metrics(); m.Withheld[spec.RoleExec] != 1 || m.Withheld[spec.RoleConf] != 1 {
		t.Fatalf("withheld %v, want the COMMIT and the PREPARE", m.Withheld)
	}
	g.peer(2, spec.KindPrepare, g.prepare(0, 6, 2, spec.Digest{1}))
	g.r.resetInputs(spec.RoleConf)
	for range 3 {
		g.r.Tick()
	}
	g.r.Flush()
	if z, n := g.r.Sizes(), len(conf.steps); z.Gated != [3]int{} || z.GateSlots[spec.RoleConf] != 0 || n != 1 {
		t.Fatalf("after a reset: gate holds %v in %v slots, conf stepped %d times; want nothing held and no step but the checkpoint's", z.Gated, z.GateSlots, n)
	}
}

// TestGateVoteOnlySlotsStayClosed: a slot that has votes but holds nothing (a PREPARE
// of another view) is not opened by age, and the wait of its first held input starts
// when that input is held.
func TestGateVoteOnlySlotsStayClosed(t *testing.T) {
	g := newGateWorld(t, Options{})
	d := spec.Digest{3}
	g.peer(2, spec.KindPrepare, g.prepare(1, 2, 2, d)) // view 1: queued at once, counted
	g.r.Flush()
	for range 3 {
		g.r.Tick()
	}
	g.r.Flush()
	p := spec.KindPrepare
	wantSteps(t, g, spec.RoleConf, "a PREPARE of another view", [][]uint64{{p}})
	g.peer(3, spec.KindPrepare, g.prepare(0, 2, 3, d))
	g.r.Tick()
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "one tick after a PREPARE of this view", [][]uint64{{p}})
	g.r.Tick()
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "GateTicks after it", [][]uint64{{p}, {p}})
}

// TestGateDefaults: the gate is on by default with GateTicks 2, and GateTicks stays
// within a quarter of RetransmitTicks (what watches a peer's progress).
func TestGateDefaults(t *testing.T) {
	cfg := newWorld(t, 1, 8, 5).cfg
	for _, c := range []struct{ in, retransmit, want int }{{0, 0, 2}, {-1, 0, -1}, {10, 0, 5}, {0, 4, 1}, {3, 3, 1}} {
		if got := (Options{GateTicks: c.in, RetransmitTicks: c.retransmit}).withDefaults(cfg).GateTicks; got != c.want {
			t.Errorf("GateTicks %d, RetransmitTicks %d: got %d, want %d", c.in, c.retransmit, got, c.want)
		}
	}
}

// TestGateForgetsSlotsOutsideWindow: when a compartment reports a lower stable
// checkpoint (a fresh instance, say), the slots above its new counting window are
// forgotten and what they held is queued, so the gate keeps at most 2L slots.
func TestGateForgetsSlotsOutsideWindow(t *testing.T) {
	g := newGateWorld(t, Options{})
	conf := g.enc[spec.RoleConf]
	conf.st.Stable = 16
	g.peer(2, spec.KindCheckpoint, g.w.checkpoint(2, 4, spec.Digest{1}))
	g.r.Flush()
	g.peer(2, spec.KindPrepare, g.prepare(0, 20, 2, spec.Digest{1}))
	g.r.Flush()
	if z := g.r.Sizes(); z.Gated[spec.RoleConf] != 1 {
		t.Fatalf("gate holds %v, want the PREPARE of seq 20", z.Gated)
	}
	conf.st.Stable = 0
	g.peer(3, spec.KindCheckpoint, g.w.checkpoint(3, 24, spec.Digest{1})) // above 16: not withheld, so conf steps and reports
	g.r.Flush()
	g.r.Flush()
	if z := g.r.Sizes(); z.Gated[spec.RoleConf] != 0 || z.GateSlots[spec.RoleConf] != 0 || !slices.Contains(conf.kinds(), spec.KindPrepare) {
		t.Fatalf("gate holds %v in %v slots, conf got %v; want the PREPARE released and its slot forgotten", z.Gated, z.GateSlots, conf.kinds())
	}
}

// TestGateHoldsOneCopy: a slot holds one message of a kind from one replica; further
// copies go to the compartment at once (which rejects them as duplicates), so a
// replica repeating its own message cannot fill the gate.
func TestGateHoldsOneCopy(t *testing.T) {
	g := newGateWorld(t, Options{})
	pr := g.prepare(0, 2, 2, spec.Digest{1})
	for range 5 {
		g.peer(2, spec.KindPrepare, pr)
	}
	if z := g.r.Sizes(); z.Gated[spec.RoleConf] != 1 || z.Inputs[spec.RoleConf] != 4 {
		t.Fatalf("gate holds %d, queue has %d; want 1 and 4", z.Gated[spec.RoleConf], z.Inputs[spec.RoleConf])
	}
}

// TestGateCountsTwoWindows: a PREPARE for a slot beyond conf's window but within
// twice it is counted though not held, so that once conf's window moves the next
// matching one completes the count; a local output naming another replica is neither
// held nor counted.
func TestGateCountsTwoWindows(t *testing.T) {
	g := newGateWorld(t, Options{})
	conf := g.enc[spec.RoleConf]
	d := spec.Digest{1}
	g.peer(2, spec.KindPrepare, g.prepare(0, 12, 2, d)) // L = 8: beyond (0, 8], within (0, 16]
	g.r.Flush()
	conf.st.Stable = 8
	g.peer(3, spec.KindCheckpoint, g.w.checkpoint(3, 12, spec.Digest{1}))
	g.r.Flush() // conf reports stable 8
	before := len(conf.steps)
	g.peer(3, spec.KindPrepare, g.prepare(0, 12, 3, d))
	g.r.Flush()
	if got := g.stepKinds(spec.RoleConf)[before:]; !slices.EqualFunc(got, [][]uint64{{spec.KindPrepare}}, slices.Equal) {
		t.Fatalf("conf got %v for the second matching PREPARE of seq 12, want it at once", got)
	}
	// The local prep emits a PREPARE in replica 3's name (a faulty prep): not gated.
	g.enc[spec.RolePrep].script = func(f *fakeEnclave, in spec.Input) []spec.Output {
		return []spec.Output{{Kind: spec.KindPrepare, To: spec.Destination{Roles: spec.ToConf, Replicas: allReplicas}, Body: spec.Encode(g.prepare(0, 13, 3, d))}}
	}
	g.peer(2, spec.KindCheckpoint, g.w.checkpoint(2, 12, spec.Digest{1}))
	g.r.Flush()
	if z := g.r.Sizes(); z.Gated[spec.RoleConf] != 0 || z.GateSlots[spec.RoleConf] != 1 {
		t.Fatalf("gate holds %v in %v slots after a local PREPARE in another's name; want nothing held and only seq 12's slot", z.Gated, z.GateSlots)
	}
}

// TestGateHeldInputsFillTheReadBound: reads are turned away while exec's queued and
// held inputs fill half its queue bound (SPEC §16.6), as queued inputs alone did.
func TestGateHeldInputsFillTheReadBound(t *testing.T) {
	g := newGateWorld(t, Options{QueueLimit: 8})
	for seq := uint64(1); seq <= 4; seq++ {
		g.peer(2, spec.KindCommit, g.commit(0, seq, 2, spec.Digest{1}))
	}
	g.r.HandleRead(spec.Encode(&spec.Read{Client: 1}))
	if m := g.r.Metrics(); m.Reads != 0 || m.QueueDrops != 1 {
		t.Fatalf("reads %d, drops %d with 4 of 8 held; want the read turned away", m.Reads, m.QueueDrops)
	}
}
