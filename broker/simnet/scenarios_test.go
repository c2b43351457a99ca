package simnet

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// This file is the harness of the scripted fault scenarios (scenarios_*_test.go): each
// TestScenarioNN is table-driven over seeds and implementation mixes, runs a kv-v1
// workload checked against a model of the store, injects its faults at points drawn
// from the seed, and ends with the common checks of (*scenario).finish:
//
//   - agreement: no two correct execs executed different batch digests at one sequence
//     number (CheckExecAgreement, from the execution log of Options.TrackExec), and no
//     two correct execs signed different state digests for one checkpoint
//     (CheckAgreement);
//   - correct client results: every result matches the workload's model, and the
//     shared counter equals the number of successful increments;
//   - progress within a bounded number of views: the workload completes, every live
//     replica converges to the same executed sequence number and state, and the
//     highest view any live conf reached is at most the scenario's bound;
//   - views never go backwards in any compartment (checked after every instant).
//
// A failure names the seed, the mix and every replica's (prep, conf) implementations;
// run one row with -run 'TestScenarioNN/seed=S/mix'.

// implMixes are the implementation mixes every scenario runs: every replica on the a
// implementations, every replica on the b ones, and each replica's (prep, conf) pair
// drawn from the seed.
var implMixes = []string{"a", "b", "mixed"}

// scenarioCase is one row of a scenario table.
type scenarioCase struct {
	seed uint64
	mix  string
}

var (
	scenarioSweep = flag.Int("simnet.scenarios", 0, "run every scenario for this many further seeds (a bug hunting tool)")
	scenarioNoise = flag.Bool("simnet.noise", false, "scenarios run on lossy links (3% drop, 2% duplicate, up to 4 ticks extra delay)")
)

// runScenario runs body for every seed × mix, in parallel subtests; -short keeps the
// first seed only, -simnet.scenarios=N adds N seeds.
func runScenario(t *testing.T, seeds []uint64, body func(t *testing.T, c scenarioCase)) {
	if testing.Short() {
		seeds = seeds[:1]
	}
	for i := range *scenarioSweep {
		seeds = append(seeds, seeds[0]*1000+uint64(i))
	}
	for _, seed := range seeds {
		for _, mix := range implMixes {
			c := scenarioCase{seed: seed, mix: mix}
			t.Run(fmt.Sprintf("seed=%d/%s", seed, mix), func(t *testing.T) {
				t.Parallel()
				body(t, c)
			})
		}
	}
}

// mixFactory returns the replica factory of a mix and its description ("ab,ba,…":
// each replica's prep and conf implementation letters). Exec is the one exec.
func mixFactory(mix string, seed, n uint64) (func(uint64) Factory, string) {
	rng := seededRand("mix", seed)
	impl := make([]string, n)
	for i := range impl {
		switch mix {
		case "a":
			impl[i] = "aa"
		case "b":
			impl[i] = "bb"
		default:
			impl[i] = string([]byte{"ab"[rng.IntN(2)], "ab"[rng.IntN(2)]})
		}
	}
	return func(i uint64) Factory {
		return trio(impl[i][:1], impl[i][1:])
	}, strings.Join(impl, ",")
}

// seededRand returns a random source for one purpose of one seed.
func seededRand(purpose string, seed uint64) *rand.Rand {
	return rand.New(rand.NewChaCha8(sha256.Sum256(fmt.Appendf(nil, "simnet/scenario/%s/%d", purpose, seed))))
}

// scenarioOpts sizes a scenario. Zero values take the defaults noted.
type scenarioOpts struct {
	f       uint64                // default 1
	clients int                   // workload clients; default 4
	perOps  int                   // operations per workload client; default 40
	extra   int                   // idle clients after the workload's, for the test to play; ids clients+1…
	setup   broker.Setup          // K and L; default K = 16, L = 64
	tune    func(*broker.Options) // adjusts brokerOpts() for every replica, if set
}

// scenario is one running row of a scenario table.
type scenario struct {
	t     *testing.T
	c     scenarioCase
	impl  string
	s     *Sim
	w     *workload
	rng   *rand.Rand    // the scenario's own choices, drawn from the seed
	views [][3]uint64   // by replica: the highest view each compartment reported
	errs  []string      // invariant violations seen while running
	notes []string      // what the scenario chose, for the failure message
	live  func() []bool // nil: every non-crashed replica is live
	// watchers see every broker message of their kind as sent (once per destination).
	watchers map[uint64][]func(from, to uint64, body []byte)
	players  map[uint64]*player // test-driven clients, by id
}

// newScenario builds the simulation of one row (with the execution log on) and its
// workload; the caller injects faults and then calls start.
func newScenario(t *testing.T, c scenarioCase, o scenarioOpts) *scenario {
	t.Helper()
	if o.f == 0 {
		o.f = 1
	}
	if o.clients == 0 {
		o.clients = 4
	}
	if o.perOps == 0 {
		o.perOps = 40
	}
	fac, impl := mixFactory(c.mix, c.seed, 3*o.f+1)
	sc := &scenario{t: t, c: c, impl: impl, w: newWorkload(c.seed, o.clients, o.perOps),
		rng: seededRand("scenario", c.seed), views: make([][3]uint64, 3*o.f+1)}
	bo := brokerOpts()
	if o.tune != nil {
		o.tune(&bo)
	}
	opt := Options{Seed: c.seed, F: o.f, Factory: fac, Clients: o.clients + o.extra, Setup: o.setup,
		Broker: bo, OnResult: sc.w.onResult, TrackExec: true, OnPeer: sc.onPeer, OnReply: sc.onReply}
	s, err := New(opt)
	if err != nil {
		t.Fatalf("seed=%d mix=%s impl=%s: %v", c.seed, c.mix, impl, err)
	}
	sc.s = s
	if *scenarioNoise {
		s.SetAllLinks(LinkFault{Drop: 0.03, Duplicate: 0.02, Delay: 4})
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce with: go test ./broker/simnet -run '%s' (seed=%d mix=%s impl=%s)", t.Name(), c.seed, c.mix, impl)
		}
	})
	return sc
}

// note records a scripted choice for the failure message.
func (sc *scenario) note(format string, a ...any) {
	sc.notes = append(sc.notes, fmt.Sprintf(format, a...))
}

// fatalf fails the row, naming the seed, the mix, the choices and the cluster state.
func (sc *scenario) fatalf(format string, a ...any) {
	sc.t.Helper()
	sc.t.Fatalf("seed=%d mix=%s impl=%s [%s]: %s\n%s", sc.c.seed, sc.c.mix, sc.impl, strings.Join(sc.notes, "; "),
		fmt.Sprintf(format, a...), describe(sc.s))
}

// start submits the workload's first requests.
func (sc *scenario) start() { sc.w.start(sc.s) }

// until runs the simulation until cond holds, checking the invariants after every
// instant; it fails the row after maxEvents events, on a wrong result or on a view
// going backwards.
func (sc *scenario) until(what string, cond func() bool, maxEvents int) {
	sc.t.Helper()
	err := sc.s.RunUntil(func() bool { return sc.checkViews() || len(sc.w.errs) > 0 || cond() }, maxEvents)
	switch {
	case len(sc.errs) > 0:
		sc.fatalf("%s: %s", what, strings.Join(sc.errs, "; "))
	case len(sc.w.errs) > 0:
		sc.fatalf("%s: wrong results: %v", what, sc.w.errs)
	case err != nil:
		sc.fatalf("%s: %v (pending requests %d)", what, err, sc.s.Pending())
	}
}

// runFor runs the simulation for ticks of virtual time, checking the invariants.
func (sc *scenario) runFor(what string, ticks uint64) {
	sc.t.Helper()
	end := sc.s.Now() + ticks
	sc.until(what, func() bool { return sc.s.Now() >= end }, 5_000_000)
}

// checkViews records every compartment's view and reports (true) a view that went
// backwards.
func (sc *scenario) checkViews() bool {
	for r := range sc.s.N() {
		st := sc.s.Replica(r).Status()
		for role := range st {
			if st[role].View < sc.views[r][role] {
				sc.errs = append(sc.errs, fmt.Sprintf("replica %d role %d: view went back from %d to %d",
					r, role, sc.views[r][role], st[role].View))
			}
			sc.views[r][role] = max(sc.views[r][role], st[role].View)
		}
	}
	return len(sc.errs) > 0
}

// synchronous reports whether the network is synchronous (no -simnet.noise): the view
// bounds and the exact views a scenario expects are argued under synchrony and checked
// only then; agreement, results, convergence and completion are checked always.
func (sc *scenario) synchronous() bool { return !*scenarioNoise }

// wantView fails the row if the highest live conf view is not want (under synchrony).
func (sc *scenario) wantView(want uint64, why string) {
	sc.t.Helper()
	if v := sc.maxView(); v != want && sc.synchronous() {
		sc.fatalf("final view %d, want %d: %s", v, want, why)
	}
}

// isLive reports whether replica r counts for convergence and the view bound.
func (sc *scenario) isLive(r uint64) bool {
	if sc.live != nil {
		return sc.live()[r]
	}
	return !sc.s.Crashed(r)
}

// maxView returns the highest conf view of the live replicas.
func (sc *scenario) maxView() uint64 {
	v := uint64(0)
	for r := range sc.s.N() {
		if sc.isLive(r) {
			v = max(v, sc.s.Replica(r).Status()[spec.RoleConf].View)
		}
	}
	return v
}

// finish runs the workload to completion and applies the common checks, with
// maxView the bound on the final view of every live conf.
func (sc *scenario) finish(maxView uint64) {
	sc.t.Helper()
	sc.until("workload", func() bool { return sc.w.done(sc.s) }, 20_000_000)
	sc.w.stopped = true
	sc.readCounter()
	sc.converge()
	if err := sc.s.CheckExecAgreement(); err != nil { // every exec is correct (crashed ones were until then)
		sc.fatalf("%v", err)
	}
	if err := sc.s.CheckAgreement(); err != nil {
		sc.fatalf("%v", err)
	}
	if v := sc.maxView(); v > maxView && sc.synchronous() {
		sc.fatalf("final view %d above the bound %d", v, maxView)
	}
	for r := range sc.s.N() {
		if sc.isLive(r) && len(sc.s.ExecLog(r).Executed) == 0 {
			sc.fatalf("exec %d executed nothing itself", r)
		}
	}
	sc.summary()
}

// summary logs what the row did (shown with -v).
func (sc *scenario) summary() {
	var b strings.Builder
	for r := range sc.s.N() {
		st := sc.s.Replica(r).Status()
		l := sc.s.ExecLog(r)
		fmt.Fprintf(&b, " r%d:v%d/last%d/exec%d/xfer%v/susp%d", r, st[spec.RoleConf].View, st[spec.RoleExec].Last,
			len(l.Executed), l.Transferred, sc.s.Replica(r).Metrics().Suspects)
	}
	sc.t.Logf("impl=%s [%s] t=%d%s", sc.impl, strings.Join(sc.notes, "; "), sc.s.Now(), b.String())
}

// readCounter reads the shared counter through client 1 and compares it with the
// successful increments the workload saw.
func (sc *scenario) readCounter() {
	sc.t.Helper()
	before := len(sc.s.Results())
	sc.s.Submit(1, [][]byte{client.GetOp(counterKey)})
	sc.until("reading the counter", func() bool { return len(sc.s.Results()) > before }, 1_000_000)
	res := sc.s.Results()[len(sc.s.Results())-1].Results[0]
	got := 0
	if res.Status == spec.StatusOK {
		got, _ = strconv.Atoi(string(res.Value))
	}
	if got != sc.w.casOK || sc.w.casOK == 0 {
		sc.fatalf("counter %d (status %d), successful increments %d", got, res.Status, sc.w.casOK)
	}
}

// converge runs until every live replica's exec has executed the same sequence number
// with the same application state and the same stable checkpoint.
func (sc *scenario) converge() {
	sc.t.Helper()
	same := func() bool {
		var ref *StateDigest
		for _, d := range sc.s.StateDigests() {
			if !sc.isLive(d.Replica) {
				continue
			}
			if ref == nil {
				ref = &d
			} else if d.Last != ref.Last || d.Stable != ref.Stable || d.App != ref.App {
				return false
			}
		}
		return true
	}
	sc.until("convergence of the live replicas", same, 2_000_000)
}

// confView returns replica r's conf view and whether it is active.
func (sc *scenario) confView(r uint64) (uint64, bool) {
	st := sc.s.Replica(r).Status()[spec.RoleConf]
	return st.View, st.ViewActive
}
