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
// Step call, when the 2f-th PREPARE arrives, and exec the slot's batch and COMMITs in
// one, when the (2f+1)-th COMMIT arrives; what comes for the slot later goes at once.
func TestGateOneStepPerSlot(t *testing.T) {
	g := newGateWorld(t, Options{})
	prop, _ := testProposal(g.w, t)
	d := prop.Header.Body.Digest
	g.peer(0, spec.KindProposal, prop)
	g.peer(2, spec.KindPrepare, g.prepare(0, 1, 2, d))
	g.peer(3, spec.KindPrepare, g.prepare(0, 1, 3, spec.Digest{9})) // another digest: its own count
	g.peer(3, spec.KindPrepare, g.prepare(0, 1, 2, d))              // replica 2 again, relayed by 3: counted once
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "one matching PREPARE", nil)
	wantSteps(t, g, spec.RoleExec, "no COMMIT", nil)

	g.peer(3, spec.KindPrepare, g.prepare(0, 1, 3, d))
	g.r.Flush()
	p, pp := spec.KindPrepare, spec.KindPrePrepare
	wantSteps(t, g, spec.RoleConf, "two matching PREPAREs", [][]uint64{{pp, p, p, p, p}})

	for _, from := range []uint64{0, 2} {
		g.peer(from, spec.KindCommit, g.commit(0, 1, from, d))
	}
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "two COMMITs", nil)
	g.peer(3, spec.KindCommit, g.commit(0, 1, 3, d))
	g.r.Flush()
	c := spec.KindCommit
	wantSteps(t, g, spec.RoleExec, "three COMMITs", [][]uint64{{spec.KindBatch, c, c, c}})

	g.peer(0, spec.KindCommit, g.commit(0, 1, 0, d)) // the slot is open: at once
	g.r.Flush()
	wantSteps(t, g, spec.RoleExec, "a COMMIT for an open slot", [][]uint64{{spec.KindBatch, c, c, c}, {c}})
	m := g.r.Metrics()
	if m.Gated != [3]uint64{0, 5, 4} || m.GateTimeouts != [3]uint64{} {
		t.Errorf("Gated %v, GateTimeouts %v; want [0 5 4] and none", m.Gated, m.GateTimeouts)
	}
	if g.r.gates[spec.RoleConf].held != 0 || g.r.gates[spec.RoleExec].held != 0 {
		t.Errorf("held %d and %d after release", g.r.gates[spec.RoleConf].held, g.r.gates[spec.RoleExec].held)
	}
}

// TestGateReleasesByAge: inputs whose slot never completes its quorum reach the
// compartment after GateTicks ticks, and the slot is then open.
func TestGateReleasesByAge(t *testing.T) {
	g := newGateWorld(t, Options{GateTicks: 3})
	d := spec.Digest{5}
	g.peer(2, spec.KindPrepare, g.prepare(0, 2, 2, d))
	for tick := 1; tick <= 2; tick++ {
		g.r.Tick()
		g.r.Flush()
		wantSteps(t, g, spec.RoleConf, "before GateTicks", nil)
	}
	g.r.Tick()
	g.r.Flush()
	p := spec.KindPrepare
	wantSteps(t, g, spec.RoleConf, "after GateTicks", [][]uint64{{p}})
	g.peer(3, spec.KindPrepare, g.prepare(0, 2, 3, d))
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "a PREPARE for the released slot", [][]uint64{{p}, {p}})
	if m := g.r.Metrics(); m.GateTimeouts[spec.RoleConf] != 1 {
		t.Errorf("GateTimeouts %v, want one at conf", m.GateTimeouts)
	}
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

// TestGateBounded: a compartment's gate holds at most QueueLimit inputs; one more
// releases them all into its queue, which is bounded as before (the oldest dropped).
func TestGateBounded(t *testing.T) {
	g := newGateWorld(t, Options{QueueLimit: 4})
	for seq := uint64(1); seq <= 4; seq++ {
		g.peer(2, spec.KindPrepare, g.prepare(0, seq, 2, spec.Digest{7}))
	}
	g.r.Flush()
	wantSteps(t, g, spec.RoleConf, "four held", nil)
	g.peer(2, spec.KindPrepare, g.prepare(0, 5, 2, spec.Digest{7}))
	g.r.Flush()
	if got, m := len(g.enc[spec.RoleConf].inputs()), g.r.Metrics(); got != 4 || m.QueueDrops != 1 || g.r.gates[spec.RoleConf].held != 0 {
		t.Fatalf("conf got %d inputs, %d dropped, %d still held; want all 5 released, 4 delivered and the oldest dropped",
			got, m.QueueDrops, g.r.gates[spec.RoleConf].held)
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
