package swarm

import "testing"

// TestByzantineReplacedMidStep: on seed 6 with the 2f-admission mutant, an output of
// a Byzantine exec certifies an epoch that replaces that exec, and its remaining
// outputs and eager behaviour then found its Byzantine state cleared: the simulator
// dereferenced it and panicked (every later seed of splitbft-sim was lost). The run
// must end in the admission oracle's failure (the mutant caught).
func TestByzantineReplacedMidStep(t *testing.T) {
	rep := Run(Options{Seed: 6, Mutant: MutantExecAdmitTwoF, SkipNVersion: true})
	if rep.Failure == nil || rep.Failure.Oracle != "admission" {
		t.Fatalf("seed 6 with mutant %s: want the admission oracle to fail, got %v", MutantExecAdmitTwoF, rep.Failure)
	}
}
