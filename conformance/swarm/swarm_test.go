package swarm

import (
	"flag"
	"testing"
)

var (
	flagSeeds   = flag.Int("swarm.seeds", 0, "long mode: run this many seeds (from -swarm.from) instead of the CI set")
	flagFrom    = flag.Uint64("swarm.from", 1, "long mode: first seed")
	flagProfile = flag.String("swarm.profile", "mixed", "long mode: adversary profile")
	flagSteps   = flag.Int("swarm.steps", 0, "safety-phase steps per run (0: default)")
)

// scenarioDir is where failing runs write their scenario files (splitbft-sim -out
// keeps them; here they live as long as the test).
func scenarioDir(t *testing.T) string { return t.TempDir() }

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
		agg.Epochs += rep.Stats.Epochs
		agg.Admitted += rep.Stats.Admitted
		agg.Rejuvenations += rep.Stats.Rejuvenations
		agg.Retired += rep.Stats.Retired
		agg.InactiveConfs += rep.Stats.InactiveConfs
		if rep.Failure != nil {
			fails++
			check(t, rep)
		} else if testing.Verbose() {
			t.Log(rep)
		}
	}
	t.Logf("%d seeds, %d failures, %d steps, %d completions, %d transfers, %d executed, %d views, %d liveness steps, %d restarts, %d epoch changes, %d re-admitted (%d rejuvenations, %d retirements checked), %d confs returned to service",
		*flagSeeds, fails, agg.Steps, agg.Completed, agg.Transfers, agg.MaxExecuted, agg.MaxView, agg.LivenessSteps, agg.Restarts, agg.Epochs, agg.Admitted, agg.Rejuvenations, agg.Retired, agg.InactiveConfs)
}
