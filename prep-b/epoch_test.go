package prepb

import (
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
)

// TestEpochChangeRules covers EC1–EC4 (SPEC §17.1) at an epoch-change input
// (§17.4), each failing alone with its code and no state change.
func TestEpochChangeRules(t *testing.T) { agreebtest.RunEpochChangeRules(t, &testSetup) }

// TestEpochChangeSwitch covers §17.4 step 2 as far as checkpoints and keys go.
func TestEpochChangeSwitch(t *testing.T) { agreebtest.RunEpochChangeSwitch(t, &testSetup) }

// TestEpochRetire covers §17.4 step 1 and the retired rule of §8.1.
func TestEpochRetire(t *testing.T) { agreebtest.RunEpochRetire(t, &testSetup) }

// TestEpochStart covers configure with StartSeq > 0 (§8.1) and K1/K2 (§5.1).
func TestEpochStart(t *testing.T) { agreebtest.RunEpochStart(t, &testSetup) }
