package swarm

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

var (
	flagSeeds    = flag.Int("swarm.seeds", 0, "long mode: run this many seeds (from -swarm.from) instead of the CI set")
	flagFrom     = flag.Uint64("swarm.from", 1, "long mode: first seed")
	flagProfile  = flag.String("swarm.profile", "mixed", "long mode: adversary profile")
	flagSteps    = flag.Int("swarm.steps", 0, "safety-phase steps per run (0: default)")
	flagScenario = flag.String("swarm.scenario", "", "replay one scenario file")
	flagVerbose  = flag.Bool("swarm.v", false, "log every event of a replayed scenario")
)

// scenarioDir is where failing runs write their scenario files.
func scenarioDir(t *testing.T) string {
	if d := os.Getenv("SWARM_SCENARIO_DIR"); d != "" {
		return d
	}
	return t.TempDir()
}

// check fails the test with the report of a failing run.
func check(t *testing.T, rep Report) {
	t.Helper()
	if rep.Failure != nil {
		t.Errorf("%s\nscenario: %s\nlast events:\n", rep, rep.Scenario)
		for _, l := range rep.Failure.Trace {
			t.Logf("  %s", l)
		}
	}
}

// TestSwarmOne is a smoke run used while developing.
func TestSwarmOne(t *testing.T) {
	rep := Run(Options{Seed: 1, ScenarioDir: scenarioDir(t)})
	t.Log(rep)
	check(t, rep)
}

// TestSwarmLong is the long mode: go test -run TestSwarmLong -swarm.seeds N -swarm.from S
// [-swarm.profile P] [-swarm.steps K] runs N seeds and reports every failure.
func TestSwarmLong(t *testing.T) {
	if *flagSeeds == 0 {
		t.Skip("long mode: set -swarm.seeds")
	}
	fails := 0
	var agg Stats
	for i := range *flagSeeds {
		seed := *flagFrom + uint64(i)
		rep := Run(Options{Seed: seed, Profile: Profile(*flagProfile), SafetySteps: *flagSteps, ScenarioDir: scenarioDir(t)})
		agg.Steps += rep.Stats.Steps
		agg.Completed += rep.Stats.Completed
		agg.Transfers += rep.Stats.Transfers
		agg.MaxExecuted += rep.Stats.MaxExecuted
		agg.MaxView += rep.Stats.MaxView
		agg.LivenessSteps += rep.Stats.LivenessSteps
		agg.Restarts += rep.Stats.Restarts
		agg.InactiveConfs += rep.Stats.InactiveConfs
		if rep.Failure != nil {
			fails++
			check(t, rep)
		} else if testing.Verbose() {
			t.Log(rep)
		}
	}
	t.Logf("%d seeds, %d failures, %d steps, %d completions, %d transfers, %d executed, %d views, %d liveness steps, %d restarts, %d confs returned to service",
		*flagSeeds, fails, agg.Steps, agg.Completed, agg.Transfers, agg.MaxExecuted, agg.MaxView, agg.LivenessSteps, agg.Restarts, agg.InactiveConfs)
}

// TestMutantProbe (development) runs a mutant over seeds and reports which catch it.
func TestMutantProbe(t *testing.T) {
	m := os.Getenv("SWARM_MUTANT")
	if m == "" {
		t.Skip("set SWARM_MUTANT")
	}
	caught, acts := 0, 0
	for i := range *flagSeeds {
		seed := *flagFrom + uint64(i)
		rep := Run(Options{Seed: seed, Profile: Profile(*flagProfile), Mutant: Mutant(m), SafetySteps: *flagSteps, SkipNVersion: true})
		acts += rep.Stats.MutantActs
		if rep.Failure != nil {
			caught++
			t.Logf("seed %d: %s", seed, rep.Failure.Error())
		} else if testing.Verbose() {
			t.Logf("seed %d: %d mutant acts, executed %d, views %d, placement %s", seed, rep.Stats.MutantActs, rep.Stats.MaxExecuted, rep.Stats.MaxView, rep.Placement)
		}
	}
	t.Logf("caught %d/%d, %d mutant acts", caught, *flagSeeds, acts)
}

// TestSwarmDebug (development) runs one seed with every event logged.
func TestSwarmDebug(t *testing.T) {
	if os.Getenv("SWARM_DEBUG_SEED") == "" {
		t.Skip("set SWARM_DEBUG_SEED")
	}
	var seed uint64
	fmt.Sscan(os.Getenv("SWARM_DEBUG_SEED"), &seed)
	f, _ := os.Create("/tmp/swarm-debug.log")
	defer f.Close()
	s, rep := run(Options{Seed: seed, Profile: Profile(*flagProfile), Mutant: Mutant(os.Getenv("SWARM_MUTANT")), SafetySteps: *flagSteps, Log: f, SkipNVersion: true})
	t.Log(rep)
	kinds := map[string]int{}
	for _, m := range s.pool {
		kinds[spec.KindName(m.kind)+"/"+originNames[m.origin]]++
	}
	t.Logf("pool %d pending %d replies %d requests %d kinds %v actions %v", len(s.pool), len(s.pending), len(s.replies), len(s.requests), kinds, s.stats.Actions)
}

// TestSwarmIdeal (development): no faults at all; how far does the safety phase get?
func TestSwarmIdeal(t *testing.T) {
	if os.Getenv("SWARM_IDEAL") == "" {
		t.Skip()
	}
	p := drawParams(1, ProfileLossy, 1)
	p.Loss, p.Replay, p.Dup, p.Suspect, p.Selective, p.Withhold, p.Partitions = 0, 0, 0, 0, 0, nil, false
	f, _ := os.Create("/tmp/swarm-debug.log")
	defer f.Close()
	s, rep := run(Options{Seed: 1, Params: &p, Placement: &Placement{}, SkipNVersion: true, Log: f})
	t.Log(rep)
	t.Logf("pool %d pending %d replies %d requests %d actions %v", len(s.pool), len(s.pending), len(s.replies), len(s.requests), s.stats.Actions)
}

// TestMutantAnalyze (development): how often do conflicting prepared certificates
// appear in VIEW-CHANGEs and NEW-VIEWs?
func TestMutantAnalyze(t *testing.T) {
	m := os.Getenv("SWARM_MUTANT")
	if m == "" {
		t.Skip("set SWARM_MUTANT")
	}
	for i := range *flagSeeds {
		seed := *flagFrom + uint64(i)
		s, rep := run(Options{Seed: seed, Profile: Profile(*flagProfile), Mutant: Mutant(m), SkipNVersion: true, SkipLiveness: true})
		certs := map[[2]uint64]map[spec.Digest]bool{}
		conflicts, nvConf := 0, 0
		for _, id := range s.byKind[spec.KindViewChange] {
			var vc spec.ViewChange
			spec.Decode(s.pool[id].body, &vc, spec.MaxMessageBytes)
			for _, pc := range vc.Body.Prepared {
				k := [2]uint64{pc.Header.Body.View, pc.Header.Body.Seq}
				if certs[k] == nil {
					certs[k] = map[spec.Digest]bool{}
				}
				if !certs[k][pc.Header.Body.Digest] && len(certs[k]) > 0 {
					conflicts++
				}
				certs[k][pc.Header.Body.Digest] = true
			}
		}
		swaps := 0
		for _, id := range s.byKind[spec.KindNewView] {
			var nv spec.NewView
			spec.Decode(s.pool[id].body, &nv, spec.MaxMessageBytes)
			if s.pool[id].origin == fromCorrect {
				for _, o := range nv.Body.PrePrepares {
					if d, ok := s.decided[o.Body.Seq]; ok && d.d != o.Body.Digest {
						swaps++
					}
				}
			}
			seen := map[[2]uint64]spec.Digest{}
			for _, vc := range nv.Body.ViewChanges {
				for _, pc := range vc.Body.Prepared {
					k := [2]uint64{pc.Header.Body.View, pc.Header.Body.Seq}
					if d, ok := seen[k]; ok && d != pc.Header.Body.Digest {
						nvConf++
					}
					seen[k] = pc.Header.Body.Digest
				}
			}
		}
		preps := map[[2]uint64]map[spec.Digest]uint64{}
		for _, id := range s.byKind[spec.KindPrepare] {
			m := s.pool[id]
			if m.origin != fromCorrect {
				continue
			}
			k := [2]uint64{m.view, m.seq}
			if preps[k] == nil {
				preps[k] = map[spec.Digest]uint64{}
			}
			preps[k][m.digest] |= 1 << m.from.Replica
		}
		commits := map[[2]uint64]map[spec.Digest]bool{}
		ccon := 0
		for _, id := range s.byKind[spec.KindCommit] {
			m := s.pool[id]
			if m.origin != fromCorrect {
				continue
			}
			k := [2]uint64{m.view, m.seq}
			if commits[k] == nil {
				commits[k] = map[spec.Digest]bool{}
			}
			if !commits[k][m.digest] && len(commits[k]) > 0 {
				ccon++
			}
			commits[k][m.digest] = true
		}
		double := 0
		for _, byD := range preps {
			n := 0
			for _, set := range byD {
				if popcount(set) >= 2 {
					n++
				}
			}
			if n >= 2 {
				double++
			}
		}
		t.Logf("seed %d: acts %d, slots with two 2f-prepared digests %d, conflicting correct commits %d, conflicting certs %d, in new-views %d, swaps %d, splits %d, executed %d: %v", seed, rep.Stats.MutantActs, double, ccon, conflicts, nvConf, swaps, s.stats.Splits, rep.Stats.MaxExecuted, rep.Failure)
	}
}

// TestMutantPlacementProbe (development): mutant catch rate over placement runs.
func TestMutantPlacementProbe(t *testing.T) {
	m := os.Getenv("SWARM_MUTANT")
	if m == "" {
		t.Skip("set SWARM_MUTANT")
	}
	caught := 0
	for pi, prof := range Profiles {
		if o := os.Getenv("SWARM_PROFILE_ONLY"); o != "" && o != string(prof) {
			continue
		}
		for i := range 64 {
			seed := uint64(1000*(pi+1) + i)
			pl := PlacementIndex(i, 4, prof, seed)
			rep := Run(Options{Seed: seed, Profile: prof, Placement: &pl, Mutant: Mutant(m), SafetySteps: *flagSteps, SkipNVersion: true, SkipLiveness: true})
			if rep.Failure != nil {
				caught++
				t.Logf("%s %d: %s", prof, seed, rep.Failure.Error())
			} else if testing.Verbose() && os.Getenv("SWARM_PROFILE_ONLY") == string(prof) {
				t.Logf("%s %d: placement %s splits %d acts %d executed %d views %d", prof, seed, rep.Placement, rep.Stats.Splits, rep.Stats.MutantActs, rep.Stats.MaxExecuted, rep.Stats.MaxView)
			}
		}
	}
	t.Logf("caught %d/256", caught)
}

func init() {
	if os.Getenv("SWARM_NOBURST") != "" {
		burstMax = 0
	}
}

// TestPendingProbe (development): queue length over time.
func TestPendingProbe(t *testing.T) {
	if os.Getenv("SWARM_DEBUG_SEED") == "" {
		t.Skip()
	}
	var seed uint64
	fmt.Sscan(os.Getenv("SWARM_DEBUG_SEED"), &seed)
	opt := Options{Seed: seed, Profile: Profile(*flagProfile), SkipNVersion: true}.withDefaults()
	s := newSim(opt)
	if err := s.buildCluster(); err != nil {
		t.Fatal(err)
	}
	s.phase = "safety"
	for s.step = 0; s.step < opt.SafetySteps && s.failure == nil; s.step++ {
		s.adversaryStep()
		if s.step%100 == 0 {
			kinds := map[string]int{}
			for _, d := range s.pending {
				kinds[spec.KindName(d.kind)]++
			}
			t.Logf("step %d pending %d pool %d %v", s.step, len(s.pending), len(s.pool), kinds)
		}
	}
}
