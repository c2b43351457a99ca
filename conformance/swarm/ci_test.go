package swarm

import (
	"fmt"
	"path/filepath"
	"testing"
)

// The CI runs of the swarm: a fixed seed set, every Byzantine placement for n = 4 under
// each fixed adversary profile, the permanent regressions, and the mutants. Each runs
// as parallel subtests; every failure prints its seed and scenario file.

const (
	ciSeeds     = 500 // seeds 1..ciSeeds, profile mixed
	ciGroup     = 25  // seeds per parallel subtest
	placementsN = 64  // n³ for n = 4, f = 1
)

// placementSeed is the seed of placement run i under profile number pi.
func placementSeed(pi, i int) uint64 { return uint64(1000*(pi+1) + i) }

// TestSwarmCI runs the CI seed set: seeds 1..500 with the mixed profile (parameters,
// builds and Byzantine placement drawn from each seed), every oracle, liveness and
// the N-version replay.
func TestSwarmCI(t *testing.T) {
	if testing.Short() {
		t.Skip("swarm CI set: skipped in -short")
	}
	for g := 0; g < ciSeeds; g += ciGroup {
		from := uint64(g + 1)
		t.Run(fmt.Sprintf("seeds-%d-%d", from, from+ciGroup-1), func(t *testing.T) {
			t.Parallel()
			var agg Stats
			for seed := from; seed < from+ciGroup; seed++ {
				rep := Run(Options{Seed: seed, ScenarioDir: scenarioDir(t)})
				check(t, rep)
				agg.Add(rep.Stats)
			}
			t.Logf("%d seeds: %s", ciGroup, agg.Summary())
		})
	}
}

// TestSwarmPlacements runs all 64 placements of one Byzantine enclave per compartment
// type (n = 4, f = 1) under each of the four fixed adversary profiles.
func TestSwarmPlacements(t *testing.T) {
	if testing.Short() {
		t.Skip("swarm placements: skipped in -short")
	}
	for pi, prof := range Profiles {
		for half := range 2 {
			t.Run(fmt.Sprintf("%s-%d", prof, half), func(t *testing.T) {
				t.Parallel()
				var agg Stats
				for i := half * placementsN / 2; i < (half+1)*placementsN/2; i++ {
					seed := placementSeed(pi, i)
					pl := PlacementIndex(i, 4, prof, seed)
					rep := Run(Options{Seed: seed, Profile: prof, Placement: &pl, ScenarioDir: scenarioDir(t)})
					check(t, rep)
					agg.Add(rep.Stats)
				}
				t.Logf("%d placements: %s", placementsN/2, agg.Summary())
			})
		}
	}
}

// TestPlacementIndexCoversAll checks that the 64 placement runs place the Byzantine
// prep, conf and exec at every combination of replicas exactly once.
func TestPlacementIndexCoversAll(t *testing.T) {
	seen := map[[3]uint64]bool{}
	for i := range placementsN {
		pl := PlacementIndex(i, 4, ProfileLossy, 1)
		var k [3]uint64
		for role := range 3 {
			if len(pl.Byz[role]) != 1 || len(pl.Beh[role]) != 1 || pl.Beh[role][0] == 0 {
				t.Fatalf("placement %d: %s: want one Byzantine enclave with behaviours per role", i, pl)
			}
			k[role] = pl.Byz[role][0]
		}
		if seen[k] {
			t.Fatalf("placement %d repeats %v", i, k)
		}
		seen[k] = true
	}
}

// TestSwarmMutants proves the oracles can fail: each deliberately broken build must be
// caught by some run of the CI set (the mixed seeds, then the placement runs, in that
// order; the search stops at the first catch). The seed and oracle that caught it are
// logged.
func TestSwarmMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("swarm mutants: skipped in -short")
	}
	for _, m := range Mutants {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			for _, opt := range ciRuns() {
				opt.Mutant, opt.SkipNVersion = m, true
				if rep := Run(opt); rep.Failure != nil {
					t.Logf("caught by seed %d (%s, placement %s): %s", opt.Seed, rep.Profile, rep.Placement, rep.Failure.Error())
					return
				}
			}
			t.Errorf("mutant %s survived all %d runs of the CI set", m, len(ciRuns()))
		})
	}
}

// ciRuns lists the Options of every run of the CI set, mixed seeds first.
func ciRuns() []Options {
	var out []Options
	for seed := uint64(1); seed <= ciSeeds; seed++ {
		out = append(out, Options{Seed: seed})
	}
	for pi, prof := range Profiles {
		for i := range placementsN {
			pl := PlacementIndex(i, 4, prof, placementSeed(pi, i))
			out = append(out, Options{Seed: placementSeed(pi, i), Profile: prof, Placement: &pl})
		}
	}
	return out
}

// TestSwarmRegressions replays every scenario in testdata/regressions: runs that once
// failed (each file's Failure says how) and must pass now. A failure the simulator
// finds is added here with `cp <scenario> testdata/regressions/` once it is fixed.
func TestSwarmRegressions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "regressions", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no regression scenarios in testdata/regressions")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			opt, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			opt.ScenarioDir = scenarioDir(t)
			check(t, Run(opt))
		})
	}
}
